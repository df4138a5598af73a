"""Rendezvous sharding of devices over monitor instances: coverage, balance, minimal movement,
the same answer in every process."""
import subprocess
import sys
from collections import Counter

import pytest

from controller.services.sharding import assign, owner, shard

DEVICES = [f"dev{i:05d}" for i in range(3000)]


@pytest.mark.parametrize("instances", [["a"], ["a", "b"], ["a", "b", "c"], list("abcdefg")])
def test_every_device_has_exactly_one_live_owner(instances):
    split = assign(DEVICES, instances)
    assert set(split) == set(DEVICES) and set(split.values()) <= set(instances)
    shards = [shard(DEVICES, instances, me) for me in instances]
    assert sorted(d for s in shards for d in s) == sorted(DEVICES)
    assert all(owner(d, reversed(instances)) == i for d, i in split.items())


@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_balance(k):
    counts = Counter(assign(DEVICES, [f"mon-{i}" for i in range(k)]).values())
    mean = len(DEVICES) / k
    assert len(counts) == k and max(abs(c - mean) for c in counts.values()) < 0.12 * mean


def test_leaving_moves_only_the_leavers_devices_and_joining_only_to_the_newcomer():
    before = assign(DEVICES, ["a", "b", "c"])
    after = assign(DEVICES, ["a", "c"])
    moved = {d for d in DEVICES if before[d] != after[d]}
    assert moved == {d for d, i in before.items() if i == "b"}
    joined = assign(DEVICES, ["a", "b", "c", "d"])
    taken = {d for d in DEVICES if joined[d] != before[d]}
    assert all(joined[d] == "d" for d in taken)
    assert abs(len(taken) - len(DEVICES) / 4) < 0.12 * len(DEVICES) / 4


def test_no_instance_and_self_counts_as_live():
    assert assign(DEVICES, []) == {} and owner("x", []) is None
    assert shard(["x"], [], "me") == ["x"]
    assert set(shard(DEVICES, ["a"], "b")) == {d for d, i in assign(DEVICES, ["a", "b"]).items()
                                              if i == "b"}


def test_same_split_in_another_process_with_another_hash_seed():
    code = ("from controller.services.sharding import assign;"
            "print(sorted(assign([f'dev{i:05d}' for i in range(200)], ['b','a','c']).items()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout
    assert out.strip() == str(sorted(assign(DEVICES[:200], ["a", "b", "c"]).items()))
