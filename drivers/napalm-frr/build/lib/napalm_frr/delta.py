"""The fast way to a replace commit, when there is one: add lines only.

frr-reload.py computes the delta itself and runs a dozen vtysh processes per router (two passes,
one per deleted line); on this machine that is most of a deploy. When every line the candidate
drops is one a candidate line of the same command overrides (a new OSPF cost, timer or
description), merging the candidate's new lines (`vtysh -f`) reaches the same config with one
vtysh. `merge_lines` finds that case and returns the vtysh input, else None; the commit script
then still compares the running config with the candidate and runs frr-reload.py when they
differ, so the end state is the candidate's either way.
"""
from __future__ import annotations

# Commands with one value per context: setting a new value replaces the old one.
OVERRIDES = ("ip ospf cost ", "ip ospf hello-interval ", "ip ospf dead-interval ",
             "ip ospf retransmit-interval ", "description ", "timers throttle spf ",
             "timers lsa min-arrival ", "zebra work-queue ", "detect-multiplier ",
             "transmit-interval ", "receive-interval ")
SKIP = {"Building configuration...", "Current configuration:", "!", "end", "exit"}

Line = tuple[tuple[str, ...], str]  # (enclosing context lines, the line)


def statements(text: str) -> list[Line]:
    """Every configuration line, in order, with the context lines it sits in (by indentation)."""
    out: list[Line] = []
    stack: list[tuple[int, str]] = []
    lines = [ln.rstrip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln.strip() and ln.strip() not in SKIP]
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        out.append((tuple(s for _, s in stack), line.strip()))
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if len(nxt) - len(nxt.lstrip()) > indent:
            stack.append((indent, line.strip()))
    return out


def _key(line: str) -> str | None:
    return next((k for k in OVERRIDES if line.startswith(k)), None)


def merge_lines(running: str, candidate: str) -> str | None:
    """vtysh input that turns `running` into `candidate` by adding lines, or None."""
    old, new = statements(running), statements(candidate)
    gone, added = set(old) - set(new), [s for s in new if s not in set(old)]
    replaced = {(ctx, _key(line)) for ctx, line in added if _key(line)}
    if any(_key(line) is None or (ctx, _key(line)) not in replaced for ctx, line in gone):
        return None
    contexts = {ctx for ctx, _ in new if ctx}
    out: list[str] = []
    where: tuple[str, ...] = ()
    for ctx, line in added:
        if ctx + (line,) in contexts:
            continue  # a context line: the lines inside it bring it along
        if ctx != where:
            out += [f"{' ' * i}exit" for i in reversed(range(len(where)))]
            out += [f"{' ' * i}{c}" for i, c in enumerate(ctx)]
            where = ctx
        out.append(f"{' ' * len(ctx)}{line}")
    out += [f"{' ' * i}exit" for i in reversed(range(len(where)))]
    return "\n".join(out) + "\n" if out else None
