"""The safe NETCONF push: diff, then lock, edit, validate, commit confirmed, verify, confirm.

Dry-run (the default) connects, reads the running config and returns the diff; nothing changes.
With `commit=True`: lock candidate -> discard-changes -> edit-config -> validate -> commit
confirmed (timeout) -> verify (running == intended, then the caller's check) -> confirming commit
-> unlock. On ANY error the pending commit is cancelled (or left to the server, which reverts when
the session closes or the timeout expires), the candidate is discarded and the lock released.
With `confirm=False` the commit stays pending under a persist-id: `confirm_commit` or
`cancel_commit` it from any later session, or let the timeout roll it back.
"""
from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from ncclient import manager

from controller.southbound.netconf.client import Target, check_capabilities, connect
from controller.credentials import Login
from controller.southbound.netconf.diff import diff, format_diff, subtree_filter
from controller.southbound.netconf.errors import (CapabilityError, NetconfError, VerifyError,
                                                  explain)
from controller.southbound.netconf.payload import Payload

# A caller's extra verification, run after the commit and before it is confirmed: it gets the
# open session and returns a problem description, or None when all is well.
Check = Callable[[manager.Manager], str | None]


@dataclass
class PushResult:
    """Outcome for one device. status: dry-run | unchanged | committed | pending | rolled-back |
    failed. `changed` means the running config differed from the intended one."""

    router: str
    host: str
    changed: bool = False
    diff: str = ""
    status: str = "failed"
    error: dict | None = None
    persist_id: str | None = None
    cleanup_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class _Steps:
    """Names the step in progress and times each one."""

    def __init__(self, result: PushResult):
        self.result, self.current = result, "connect"

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.current, start = name, time.perf_counter()
        yield
        self.result.seconds[name] = round(time.perf_counter() - start, 4)


def read_running(session: manager.Manager, payload: Payload) -> str:
    """The running config under the containers `payload` touches."""
    return session.get_config("running", filter=subtree_filter(payload.xml)).data_xml


def push(target: Target, payload: Payload, creds: Login, *, commit: bool = False,
         confirm_timeout: int = 60, confirm: bool = True, check: Check | None = None) -> PushResult:
    """Bring `target` to `payload` safely; never raises for device or transport failures."""
    result = PushResult(payload.router, f"{target.host}:{target.port}")
    step = _Steps(result)
    try:
        with step("connect"):
            session = connect(target, creds)
    except NetconfError as exc:
        result.error = exc.as_dict()
        return result
    locked = committed = has_cancel = False
    persist = None
    try:
        with step("capabilities"):
            has_cancel = check_capabilities(session, str(target))
            if commit and not confirm and not has_cancel:
                raise CapabilityError(f"{target}: leaving a commit pending needs "
                                      ":confirmed-commit:1.1 (persist-id)")
        with step("diff"):
            changes = diff(payload.xml, read_running(session, payload), payload.keys)
        result.changed, result.diff = bool(changes), format_diff(changes)
        if not commit or not changes:
            result.status = "unchanged" if not changes else "dry-run"
            return result
        with step("lock"):
            session.lock("candidate")
            locked = True
        with step("edit"):
            session.discard_changes()  # start from running, not from someone's leftovers
            session.edit_config(target="candidate", config=payload.xml)
        with step("validate"):
            session.validate(source="candidate")
            # netconfd drops a commit that directly follows <validate>; re-applying the same
            # (idempotent) edit avoids it, and the verify step below would catch a dropped commit.
            session.edit_config(target="candidate", config=payload.xml)
        persist = secrets.token_hex(8) if not confirm and has_cancel else None
        with step("commit"):
            session.commit(confirmed=True, timeout=str(confirm_timeout), persist=persist)
            committed = True
        with step("verify"):
            _verify(session, payload, check, str(target))
        if confirm:
            with step("confirm"):
                session.commit()
            result.status = "committed"
        else:
            result.status, result.persist_id = "pending", persist
        with step("unlock"):
            session.unlock("candidate")
            locked = False
    except Exception as exc:  # noqa: BLE001 - every failure is reported, then cleaned up
        result.error = explain(exc, step.current, str(target)).as_dict()
        result.status = "rolled-back" if committed else "failed"
        cancel = committed and has_cancel
        result.cleanup_errors = _clean_up(session, cancel, persist, locked, str(target))
    finally:
        with contextlib.suppress(Exception):
            session.close_session()
    return result


def _verify(session: manager.Manager, payload: Payload, check: Check | None, where: str) -> None:
    left = diff(payload.xml, read_running(session, payload), payload.keys)
    if left:
        raise VerifyError(f"{where}: running config differs from the intended one after commit:\n"
                          + format_diff(left))
    problem = check(session) if check else None
    if problem:
        raise VerifyError(f"{where}: verification failed: {problem}")


def _clean_up(session: manager.Manager, cancel: bool, persist: str | None, locked: bool,
              where: str) -> list[str]:
    """Best effort: cancel-commit, discard-changes, unlock. Returns what failed (not raised)."""
    failed = []
    steps = [("cancel-commit", lambda: session.cancel_commit(persist_id=persist))] if cancel else []
    if locked:
        steps += [("discard-changes", session.discard_changes),
                  ("unlock", lambda: session.unlock("candidate"))]
    for name, call in steps:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - keep cleaning up
            failed.append(str(explain(exc, name, where)))
    return failed


def _with_session(target: Target, creds: Login, action: str,
                  call: Callable[[manager.Manager], object]) -> None:
    session = connect(target, creds)
    try:
        call(session)
    except Exception as exc:  # noqa: BLE001 - reported as a NetconfError
        raise explain(exc, action, str(target)) from None
    finally:
        with contextlib.suppress(Exception):
            session.close_session()


def confirm_commit(target: Target, creds: Login, persist_id: str) -> None:
    """Confirm a pending commit made with `push(confirm=False)`; NetconfError on failure."""
    _with_session(target, creds, "confirm", lambda s: s.commit(persist_id=persist_id))


def cancel_commit(target: Target, creds: Login, persist_id: str) -> None:
    """Roll back a pending commit now; NetconfError on failure."""
    _with_session(target, creds, "cancel-commit", lambda s: s.cancel_commit(persist_id=persist_id))


def get_running(target: Target, creds: Login, payload: Payload) -> str:
    """The device's running config under the containers `payload` touches."""
    out: list[str] = []
    _with_session(target, creds, "get-config", lambda s: out.append(read_running(s, payload)))
    return out[0]
