"""Poll routers: sysUpTime and sysName plus the ifTable/ifXTable columns, in as few GETBULK
round trips as the agent allows (scalars as non-repeaters, all columns walked side by side)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.southbound.snmp import ber
from controller.southbound.snmp.client import SnmpClient, SnmpError
from controller.southbound.snmp.inventory import Target
from controller.southbound.snmp.oids import (
    IF_COLUMNS,
    SCALARS,
    SYS_NAME,
    SYS_UPTIME,
    Oid,
)

MAX_REPETITIONS = 16
MAX_ROUNDS = 256  # a walk needing more is an agent that never ends its table


@dataclass(slots=True)
class Interface:
    index: int
    name: str
    oper: int | None  # IF-MIB ifOperStatus: 1 up, 2 down, ...
    admin: int | None
    in_octets: int | None
    out_octets: int | None


@dataclass(slots=True)
class DevicePoll:
    """One poll of one router. `error` is why it is unreachable; `problems` are partial faults
    (missing or malformed OIDs) of a reachable one."""

    router: str
    ts: float
    reachable: bool
    sys_uptime: int | None = None  # TimeTicks (1/100 s)
    sys_name: str | None = None
    interfaces: dict[int, Interface] = field(default_factory=dict)
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    duration: float = 0.0
    values: int = 0


def _scalar(poll: DevicePoll, want: Oid, got: tuple[Oid, Any], kind: type, label: str) -> Any:
    oid, value = got
    if oid != want + (0,) or ber.is_exception(value):
        poll.problems.append(f"{label} missing ({value!r} at {'.'.join(map(str, oid))})")
        return None
    if not isinstance(value, kind):
        poll.problems.append(f"{label} has the wrong type ({type(value).__name__})")
        return None
    return value


@dataclass(slots=True)
class Walk:
    """What one GETBULK walk got: the non-repeaters' var-binds, each column's rows by instance
    index (the OID suffix), whether the agent answered at all, and the fault that ended it."""

    scalars: list[tuple[Oid, Any]] = field(default_factory=list)
    rows: dict[str, dict[Oid, Any]] = field(default_factory=dict)
    answered: bool = False
    values: int = 0
    error: SnmpError | None = None
    complete: bool = True  # False: a column did not end after MAX_ROUNDS rounds


async def walk(client: SnmpClient, target: Target, columns: dict[str, Oid],
               scalars: tuple[Oid, ...] = (), max_repetitions: int = MAX_REPETITIONS,
               max_rows: int | None = None, index_len: int | None = None) -> Walk:
    """Walk `columns` side by side in GETBULKs, `scalars` as non-repeaters of the first one;
    `max_rows` ends each column after that many rows, `index_len` after a row whose index has
    another length. Device faults never raise: they end the walk as `error`."""
    out = Walk(rows={name: {} for name in columns})
    cursors = dict(columns)
    pending: list[Oid] = list(scalars)
    try:
        for _ in range(MAX_ROUNDS):
            names = list(cursors)
            if not names and not pending:
                break
            reps = max_repetitions if max_rows is None else min(
                max_repetitions, max((max_rows - len(out.rows[n]) for n in names), default=0))
            varbinds = await client.bulk(target, pending, [cursors[n] for n in names], reps)
            out.answered = True
            out.values += len(varbinds)
            if pending:
                if len(varbinds) < len(pending):
                    raise SnmpError("malformed response: fewer var-binds than non-repeaters")
                out.scalars, varbinds = varbinds[:len(pending)], varbinds[len(pending):]
                pending = []
            _advance(names, varbinds, columns, cursors, out.rows, max_rows, index_len)
        else:
            out.complete = False
    except SnmpError as exc:
        out.error = exc
    return out


async def poll_device(client: SnmpClient, target: Target, max_repetitions: int = MAX_REPETITIONS,
                      columns: tuple[str, ...] = tuple(IF_COLUMNS),
                      max_rows: int | None = None) -> DevicePoll:
    """Device faults never raise: they become `error` (unreachable) or `problems`. `columns`
    (keys of IF_COLUMNS) are walked side by side and `max_rows` ends each walk after that many
    rows: the scalars and up to `max_repetitions` rows take one GETBULK. Interfaces are the
    ifIndexes of the oper, descr and name columns."""
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, not {max_rows}")
    start = time.perf_counter()
    poll = DevicePoll(target.router, time.time(), reachable=False)
    got = await walk(client, target, {name: IF_COLUMNS[name] for name in columns}, SCALARS,
                     max_repetitions, max_rows, index_len=1)
    poll.reachable, poll.values = got.answered, got.values
    if got.scalars:
        poll.sys_uptime = _scalar(poll, SYS_UPTIME, got.scalars[0], int, "sysUpTime")
        name = _scalar(poll, SYS_NAME, got.scalars[1], bytes, "sysName")
        poll.sys_name = name.decode(errors="replace") if name is not None else None
    if not got.complete:
        poll.problems.append(f"interface walk did not end after {MAX_ROUNDS} rounds")
    if got.error is not None:
        if poll.reachable:
            poll.problems.append(str(got.error))
        else:
            poll.error = str(got.error)
    table = {name: {index[0]: v for index, v in got.rows.get(name, {}).items()}
             for name in IF_COLUMNS}
    poll.interfaces = _interfaces(table, poll.problems)
    poll.duration = time.perf_counter() - start
    return poll


def _advance(names: list[str], varbinds: list[tuple[Oid, Any]], columns: dict[str, Oid],
             cursors: dict[str, Oid], rows: dict[str, dict[Oid, Any]], max_rows: int | None,
             index_len: int | None) -> None:
    """Consume one GETBULK answer (rows of len(names)); drop columns that left their subtree
    or hold `max_rows` rows."""
    width = len(names)
    if width == 0:
        return
    if not varbinds:
        raise SnmpError("malformed response: empty GETBULK answer")
    for i, (oid, value) in enumerate(varbinds):
        name = names[i % width]
        if name not in cursors:
            continue
        prefix = columns[name]
        if oid[:len(prefix)] != prefix or ber.is_exception(value) or (
                index_len is not None and len(oid) != len(prefix) + index_len):
            del cursors[name]
            continue
        if oid <= cursors[name]:
            raise SnmpError(f"agent returned a non-increasing OID {'.'.join(map(str, oid))}")
        cursors[name] = oid
        rows[name][oid[len(prefix):]] = value
        if max_rows is not None and len(rows[name]) >= max_rows:
            del cursors[name]


def _interfaces(table: dict[str, dict[int, Any]], problems: list[str]) -> dict[int, Interface]:
    """Rows by ifIndex; of rows sharing a name only the highest ifIndex is kept (net-snmp keeps
    stale rows of deleted interfaces, and a re-created one gets a new index)."""
    out: dict[int, Interface] = {}
    by_name: dict[str, int] = {}
    indexes = set(table["oper"]) | set(table["descr"]) | set(table["name"])
    for idx in sorted(indexes):
        raw = table["name"].get(idx) or table["descr"].get(idx)
        name = raw.decode(errors="replace") if isinstance(raw, bytes) else f"ifIndex{idx}"
        vals = {k: table[k].get(idx) for k in ("oper", "admin", "in_octets", "out_octets")}
        for key, value in vals.items():
            if value is not None and not isinstance(value, int):
                problems.append(f"{name}: {key} has the wrong type ({type(value).__name__})")
                vals[key] = None
        out[idx] = Interface(idx, name, **vals)
        if name in by_name:
            del out[by_name[name]]
        by_name[name] = idx
    return out


async def poll_all(client: SnmpClient, targets: list[Target], concurrency: int = 256,
                   max_repetitions: int = MAX_REPETITIONS,
                   on_result: Callable[[DevicePoll], None] | None = None,
                   columns: tuple[str, ...] = tuple(IF_COLUMNS),
                   max_rows: int | None = None) -> list[DevicePoll]:
    """Poll every target (`poll_device` with `columns`, `max_rows`) with at most `concurrency`
    devices in flight; results in target order. `on_result` sees each poll as it completes."""
    gate = asyncio.Semaphore(concurrency)

    async def one(target: Target) -> DevicePoll:
        async with gate:
            poll = await poll_device(client, target, max_repetitions, columns, max_rows)
        if on_result:
            on_result(poll)
        return poll

    return list(await asyncio.gather(*(one(t) for t in targets)))


def poll_once(targets: list[Target], **options: Any) -> list[DevicePoll]:
    """One `poll_all` (same options) on a socket of its own, for callers outside an event loop."""
    async def run() -> list[DevicePoll]:
        client = await SnmpClient.create()
        try:
            return await poll_all(client, targets, **options)
        finally:
            client.close()

    return asyncio.run(run())
