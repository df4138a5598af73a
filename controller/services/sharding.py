"""Which monitor instance polls which device: rendezvous (highest-random-weight) hashing of
devices over the live instances (docs/operations.md, "Sharded polling").

Every device goes to the instance with the highest score hash(instance, device); scores are a
keyed BLAKE2b of the two names, so every instance computes the same split from the same list
of live instances, whatever its order, in any process. Each device has exactly one owner; when an
instance leaves only its devices move (each to its second-best instance), and when one joins it
takes about 1/(n+1) of the devices, each from its current owner, and nothing else moves.

Pure: the caller supplies the live instances (e.g. from heartbeats in the store) and its own id.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable


def score(instance: str, device: str) -> int:
    """The instance's weight for the device: 64 bits, stable across processes and machines."""
    digest = hashlib.blake2b(device.encode(), key=instance.encode()[:64], digest_size=8,
                             person=b"ngk-shard").digest()
    return int.from_bytes(digest, "big")


def owner(device: str, instances: Iterable[str]) -> str | None:
    """The instance that polls `device` (ties by name), None when there is no instance."""
    return max(set(instances), key=lambda i: (score(i, device), i), default=None)


def assign(devices: Iterable[str], instances: Iterable[str]) -> dict[str, str]:
    """device -> the instance that polls it; empty when there is no instance."""
    live = sorted(set(instances))
    if not live:
        return {}
    return {d: max(live, key=lambda i: (score(i, d), i)) for d in devices}


def shard(devices: Iterable[str], instances: Iterable[str], me: str) -> list[str]:
    """The devices instance `me` polls (in the order given). `me` counts as live even when it is
    missing from `instances` (it is running, whatever the list it read says)."""
    live = set(instances) | {me}
    return [d for d, i in assign(devices, live).items() if i == me]
