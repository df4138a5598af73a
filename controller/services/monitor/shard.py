"""Which devices this instance of the sharded monitors polls, and when (docs/operations.md,
"Sharded polling"). Pure bookkeeping: the monitor feeds it the live instances (members.py) and
the last recorded poll of each device it takes over; it answers which devices are due.

Every device keeps its own cadence across a move, so it is polled once per interval whoever
polls it: a device taken over while another instance may poll it (its last poller is live, or
it has none yet and others are live) waits for the last poll + interval, and at least 1.5
heartbeats, so that instance has seen the new member and stopped (its last poll is read again
then); a device of an instance that is gone is polled as soon as its interval has passed since
that instance's last poll of it. A starting instance polls nothing for 1.5 heartbeats, so
instances started together see each other before they poll."""
from __future__ import annotations

from controller.services.sharding import owner, shard

LastPoll = tuple[float, str | None]  # when it was polled last, and by which instance


class Shard:
    def __init__(self, me: str, devices: list[str], interval: float):
        self.me, self.devices, self.interval = me, devices, interval
        self.tick = interval / 4  # heartbeat period
        self.live: list[str] = [me]
        self.owned: set[str] = set()
        self.due: dict[str, float] = {}
        self.pending: set[str] = set()  # taken from a live instance: check its last poll again
        self.fresh: set[str] = set()  # taken over and not polled here since
        self.warm_until: float | None = None  # a starting instance waits until then

    def rebalance(self, live: list[str], now: float) -> set[str]:
        """Take the live instances; returns the devices gained."""
        if self.warm_until is None:
            self.warm_until = now + 1.5 * self.tick
        self.live = sorted(set(live) | {self.me})
        mine = set(shard(self.devices, self.live, self.me))
        gained, lost = mine - self.owned, self.owned - mine
        self.owned = mine
        self.fresh = (self.fresh | gained) - lost
        for d in lost:
            self.due.pop(d, None)
            self.pending.discard(d)
        return gained

    def schedule(self, devices: set[str], last: dict[str, LastPoll], now: float) -> None:
        """When to poll devices taken over (or checked again), from their last recorded poll."""
        for d in devices:
            ts, by = last.get(d, (None, None))
            due = now if ts is None else max(now, ts + self.interval)
            others = by in self.live and by != self.me if ts is not None else len(self.live) > 1
            if d in self.pending or not others:
                self.pending.discard(d)
            else:  # another instance may poll it: it stops at its next heartbeat
                self.pending.add(d)
                due = max(due, now + 1.5 * self.tick)
            self.due[d] = due

    def to_check(self, now: float) -> set[str]:
        """Devices taken from a live instance that are due: read their last poll again."""
        return {d for d in self.pending if self.due[d] <= now}

    def due_now(self, now: float) -> list[str]:
        """The devices to poll now (not awaiting a check), in inventory order."""
        if self.warm_until is None or now < self.warm_until:
            return []
        return [d for d in self.devices if d in self.owned and d not in self.pending
                and self.due.get(d, now) <= now]

    def polled(self, devices: list[str], began: float) -> None:
        self.fresh.difference_update(devices)
        for d in devices:
            self.due[d] = began + self.interval

    def next_due(self, now: float) -> float:
        """Seconds until the next device is due or the next heartbeat, whichever is first."""
        first = min((self.due[d] for d in self.owned if d in self.due), default=now + self.tick)
        return max(0.0, min(max(first, self.warm_until or now) - now, self.tick))

    def mine(self, key: str) -> bool:
        """Whether this instance owns `key` (a device, a trap's sender, a chore like pruning)."""
        return owner(key, self.live) == self.me
