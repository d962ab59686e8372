"""Branch mechanics shared by every flowable and the root (KESTRA.md §5.4): which branch is
active (normal or `errors`), whether it is done, and which children to create next in each
planning mode. Planner-free: the planner and the flowable behaviours both use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from apps.engine.model import TaskRunData
from apps.engine.protocol import Resolved
from apps.engine.states import TERMINATED, State

OK_STATES = frozenset({State.SUCCESS, State.WARNING, State.SKIPPED})


def _key(run: TaskRunData) -> tuple[str, str | None]:
    return run.task_id, run.value


def _index(kids: Sequence[TaskRunData]) -> dict[tuple[str, str | None], TaskRunData]:
    """Children by (task id, value); the latest run wins. Children usually arrive in `seq`
    order already (the snapshot is read so and new runs get the next seq), so sort only if not."""
    ordered = all(a.seq < b.seq for a, b in itertools.pairwise(kids))
    return {_key(kid): kid for kid in (kids if ordered else sorted(kids, key=lambda r: r.seq))}


Index = dict[tuple[str, str | None], TaskRunData]


def current_branch(normal: list[Resolved], errors: list[Resolved], kids: Sequence[TaskRunData],
                   index: Index | None = None, *, any_bad: bool = True) -> tuple[list[Resolved], bool]:
    """The normal children, or the `errors` branch once a child failed for good (or an error
    task already exists). KESTRA.md §5.4 "branch selection". `any_bad=False` says that no
    child is FAILED or KILLED (the run index counts them), which spares the look at each."""
    index = _index(kids) if index is None else index
    if any((n.id, v) in index for n, v in errors):
        return errors, True
    if not any_bad:
        return normal, False
    # The children that ended badly, then whether one of them belongs to the normal branch: one
    # cheap pass over the children instead of a lookup per branch entry (a wide Parallel asks
    # this on every decision).
    failed = [key for key, run in index.items() if run.state in _BAD]
    if failed and not {(n.id, v) for n, v in normal}.isdisjoint(failed):
        return errors, True
    return normal, False


_BAD = frozenset({State.FAILED, State.KILLED})


def branch_done(current: list[Resolved], kids: Sequence[TaskRunData], in_errors: bool,
                index: Index | None = None) -> bool:
    index = _index(kids) if index is None else index
    for n, v in reversed(current):  # the last children end last: an unfinished one shows up first
        run = index.get((n.id, v))
        if run is None or run.state not in TERMINATED:
            return False
    return True


def nexts(mode: str, current: list[Resolved], kids: Sequence[TaskRunData], concurrency: int,
          index: Index | None = None) -> list[Resolved]:
    if not current:
        return []
    index = _index(kids) if index is None else index
    if mode == "parallel" and concurrency <= 0:  # no limit: only what is missing, in one pass
        return [c for c in current if (c[0].id, c[1]) not in index]
    if mode == "sequential":
        return _sequential_indexed(current, index)
    runs = [index.get((n.id, v)) for n, v in current]
    active = sum(1 for r in runs if r is not None and r.state not in TERMINATED)
    if mode == "parallel":
        missing = [c for c, r in zip(current, runs, strict=True) if r is None]
        if concurrency > 0:
            missing = missing[:max(concurrency - active, 0)]
        return missing
    if mode == "groups":
        return _groups(current, runs, concurrency)
    if mode == "dag":
        result = []
        for (n, v), r in zip(current, runs, strict=True):
            if r is not None:
                continue
            present = {c.id for c, _ in current}
            deps = [index.get((dep, v)) for dep in n.depends_on if dep in present]
            if all(d is not None and d.state in OK_STATES for d in deps):
                result.append((n, v))
        if concurrency > 0:
            result = result[:max(concurrency - active, 0)]
        return result
    raise ValueError(f"unknown planning mode {mode!r}")


def _sequential(current: list[Resolved], runs: list[TaskRunData | None]) -> list[Resolved]:
    created = [i for i, r in enumerate(runs) if r is not None]
    if not created:
        return [current[0]]
    if any(r is not None and r.state not in TERMINATED for r in runs):
        return []
    last = created[-1]
    return [current[last + 1]] if last + 1 < len(current) else []


def _sequential_indexed(current: list[Resolved], index: Index) -> list[Resolved]:
    """`_sequential` in one pass over the branch (a long loop asks this on every decision)."""
    last = -1
    for at, (node, value) in enumerate(current):
        run = index.get((node.id, value))
        if run is not None:
            if run.state not in TERMINATED:
                return []
            last = at
    if last < 0:
        return [current[0]]
    return [current[last + 1]] if last + 1 < len(current) else []


def sequential_next(current: list[Resolved], index: Index, unfinished: dict[str, TaskRunData],
                    cursors: dict[str | None, tuple[object, int, int]], parent: str | None) -> list[Resolved]:
    """`nexts` in sequential mode for the children of `parent` (`index`: all of them, keyed),
    without walking the branch: `unfinished` holds the parent's children not ended (a run
    index keeps it) and `cursors` remembers, per parent and branch list, the last entry that
    exists. Children are only added while the index lives, so the cursor moves forward by the
    entries added since; when more keys appeared than it finds there, the branch is walked again."""
    memo = cursors.get(parent)
    last = -1
    if memo is not None and memo[0] is current:
        _, last, seen = memo
        grew = len(index) - seen
        steps = 0
        while steps < grew and last + 1 < len(current) and _entry(current[last + 1]) in index:
            last += 1
            steps += 1
        if steps != grew:
            memo = None
    if memo is None or memo[0] is not current:
        last = -1
        for at, entry in enumerate(current):
            if _entry(entry) in index:
                last = at
    cursors[parent] = (current, last, len(index))
    for run in unfinished.values():  # an existing entry that has not ended: wait for it
        if index.get(_key(run)) is run and _in_branch(run, current, last):
            return []
    if last < 0:
        return [current[0]] if current else []
    return [current[last + 1]] if last + 1 < len(current) else []


def _entry(entry: Resolved) -> tuple[str, str | None]:
    return entry[0].id, entry[1]


def _in_branch(run: TaskRunData, current: list[Resolved], last: int) -> bool:
    """Whether `run`'s (task, value) is an entry of `current` up to `last`: the entries at `last`
    and just before it are looked at first (a sequential loop's running child is there)."""
    key = _key(run)
    if last >= 0 and _entry(current[last]) == key:
        return True
    return any(_entry(entry) == key for entry in current[:last + 1])


def _groups(current: list[Resolved], runs: list[TaskRunData | None], limit: int) -> list[Resolved]:
    groups: dict[str | None, list[tuple[Resolved, TaskRunData | None]]] = {}
    for item, run in zip(current, runs, strict=True):
        groups.setdefault(item[1], []).append((item, run))
    result: list[Resolved] = []
    active = 0
    waiting: list[Resolved] = []
    for members in groups.values():
        created = [r for _, r in members if r is not None]
        if not created:
            waiting.append(members[0][0])
            continue
        group_runs = [r for _, r in members]
        following = _sequential([m for m, _ in members], group_runs)
        busy = any(r is not None and r.state not in TERMINATED for r in group_runs)
        if busy or following:
            active += 1
        result.extend(following)
    for first in waiting:
        if limit > 0 and active >= limit:
            break
        result.append(first)
        active += 1
    return result
