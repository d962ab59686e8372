"""What a running flow may reach in other namespaces: the one rule, beside `can()` (ADR 0010).

A running flow acts with its namespace's reach, not with its author's. It reaches its own
namespace and every child of it. Any other namespace — the parent, a sibling in the same tree,
another tree, a look-alike name (`prod` vs `prodx`) — only where that namespace, or one of its
ancestors, lists the caller (or an ancestor of the caller, or `*`) in `allowedNamespaces`.
An action that starts or changes work there (subflow, ForEachItem, resume, kill, purge, labels,
toggle) additionally needs the role the action needs, held by the user who last saved the
calling flow: a namespace's consent does not lend a flow more than its author could do by hand.

`TABLE` states the outcome per relation and kind of access; `reach()` classifies, looks the
outcome up and checks what it demands. Every crossing (Flow-trigger listeners, host operations,
KV, `kv()`, `read()` and storage URIs, subflows) calls `require()` or `reach()`; a denial is a
`ReachDenied` whose message names both namespaces and the rule.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from apps.namespaces.permissions import Action, can, is_child_namespace


class Access(StrEnum):
    READ = "read"
    """KV get/keys, `kv()`, `read()` and storage URIs, log Fetch, Count, Flow-trigger listening."""
    WRITE = "write"
    """KV set/delete."""
    ACT = "act"
    """Start or change work there: Subflow, ForEachItem, Resume, Kill, Purge*, Labels, Toggle."""


class Relation(StrEnum):
    OWN = "own"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    """Same tree (same first segment), neither above nor below the caller."""
    OTHER_TREE = "other tree"
    LOOK_ALIKE = "look-alike"
    """Not related by dotted segments, yet one name is a prefix of the other (`prod`, `prodx`)."""


class Outcome(StrEnum):
    ALLOW = "allow"
    LISTED = "listed"
    """Only where the target (or an ancestor) lists the caller in `allowedNamespaces`."""
    LISTED_AND_ROLE = "listed and role"
    """LISTED, and the user who last saved the calling flow holds the action's role there."""


TABLE: dict[Relation, dict[Access, Outcome]] = {
    Relation.OWN: {Access.READ: Outcome.ALLOW, Access.WRITE: Outcome.ALLOW, Access.ACT: Outcome.ALLOW},
    Relation.CHILD: {Access.READ: Outcome.ALLOW, Access.WRITE: Outcome.ALLOW, Access.ACT: Outcome.ALLOW},
    Relation.PARENT: {Access.READ: Outcome.LISTED, Access.WRITE: Outcome.LISTED,
                      Access.ACT: Outcome.LISTED_AND_ROLE},
    Relation.SIBLING: {Access.READ: Outcome.LISTED, Access.WRITE: Outcome.LISTED,
                       Access.ACT: Outcome.LISTED_AND_ROLE},
    Relation.OTHER_TREE: {Access.READ: Outcome.LISTED, Access.WRITE: Outcome.LISTED,
                          Access.ACT: Outcome.LISTED_AND_ROLE},
    Relation.LOOK_ALIKE: {Access.READ: Outcome.LISTED, Access.WRITE: Outcome.LISTED,
                          Access.ACT: Outcome.LISTED_AND_ROLE},
}
"""The rule, relation by kind of access. Tests generate the isolation matrix from it."""

VERBS: dict[Access, str] = {Access.READ: "read", Access.WRITE: "write to", Access.ACT: "act on"}


def relation(caller: str, target: str) -> Relation:
    """How `target` stands to `caller`, by dotted segments."""
    if target == caller:
        return Relation.OWN
    if is_child_namespace(target, caller):
        return Relation.CHILD
    if is_child_namespace(caller, target):
        return Relation.PARENT
    if target.startswith(caller) or caller.startswith(target):
        return Relation.LOOK_ALIKE
    if caller.split(".")[0] == target.split(".")[0]:
        return Relation.SIBLING
    return Relation.OTHER_TREE


@dataclass(frozen=True)
class Decision:
    allowed: bool
    caller: str
    target: str
    access: Access
    relation: Relation
    outcome: Outcome
    reason: str
    """Why, in words: the rule that allowed or refused it."""

    @property
    def message(self) -> str:
        return f"flow namespace '{self.caller}' may not {self.what}: {self.reason}"

    @property
    def what(self) -> str:
        return f"{VERBS[self.access]} '{self.target}'"


class ReachDenied(PermissionError):
    """A flow tried to reach a namespace the rule keeps it out of."""

    def __init__(self, decision: Decision, what: str | None = None) -> None:
        self.decision = decision
        text = decision.message if what is None else (
            f"flow namespace '{decision.caller}' may not {what}: {decision.reason}")
        super().__init__(text)


RULE = "a flow reaches its own namespace and its children"


def reach(caller: str, target: str, access: Access, acting_user: Any = None,
          role: Action = Action.EXECUTE) -> Decision:
    """May a flow of namespace `caller` do `access` in namespace `target`?

    `acting_user` (the user who last saved the calling flow, `apps.flows.authors.saved_by()`) and `role` (what the
    action needs: EXECUTE to start or resume, WRITE to purge or toggle) matter for ACT only.
    `acting_user` may be a function returning the user: it is then called only when needed, so
    the common case (own namespace, a child) reads nothing. It may also be a list of users, who
    must all hold the role (`apps.flows.authors.authors()`: who saved the running revision and the latest one).
    """
    rel = relation(caller, target)
    outcome = TABLE[rel][access]

    def decide(allowed: bool, reason: str) -> Decision:
        return Decision(allowed, caller, target, access, rel, outcome, reason)

    if outcome == Outcome.ALLOW:
        return decide(True, f"{RULE}, and '{target}' is its {rel.value} namespace")
    listing = listed_by(caller, target)
    if listing is None:
        return decide(False, f"{RULE}, and '{target}' does not list '{caller}' in allowedNamespaces")
    lister, entry = listing
    admits = f"'{lister}' admits '{caller}' (its allowedNamespaces lists '{entry}')"
    if outcome == Outcome.LISTED:
        return decide(True, admits)
    if callable(acting_user) and not hasattr(acting_user, "pk"):
        acting_user = acting_user()
    users = (list(acting_user) if isinstance(acting_user, list | tuple) else [acting_user]) or [None]
    lacking = [user for user in users if not can(user, role, target)]
    if lacking:
        who = f"user '{lacking[0].get_username()}'" if lacking[0] is not None else "no user"
        return decide(False, f"{admits}, but the calling flow was saved by {who}, "
                             f"who lacks {role.value.upper()} on '{target}'")
    return decide(True, f"{admits}, and the calling flow's last author holds {role.value.upper()} on '{target}'")


def require(caller: str, target: str, access: Access, acting_user: Any = None,
            role: Action = Action.EXECUTE, what: str | None = None) -> Decision:
    """`reach()`, raising `ReachDenied` when it refuses. `what` replaces the default wording of
    the attempted access ("read KV of 'betaco'")."""
    decision = reach(caller, target, access, acting_user, role)
    if not decision.allowed:
        raise ReachDenied(decision, what)
    return decision


# ---------------------------------------------------------------------------------------------
# allowedNamespaces, read on hot paths (Flow triggers, every kv()), cached briefly per process

TTL_SECONDS = 5.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, tuple[tuple[str, tuple[str, ...]], ...]]] = {}


def _listings(target: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(namespace, allowedNamespaces) of `target` and its ancestors, root first."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(target)
        if hit is not None and now - hit[0] < TTL_SECONDS:
            return hit[1]
    from apps.namespaces.models import Namespace

    parts = target.split(".")
    names = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    rows = dict(Namespace.objects.filter(name__in=names).values_list("name", "allowed_namespaces"))
    found = tuple((n, tuple(str(a) for a in rows[n] or [])) for n in names if n in rows)
    with _lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[target] = (now, found)
    return found


def listed_by(caller: str, target: str) -> tuple[str, str] | None:
    """(namespace, entry): the target or an ancestor whose allowedNamespaces admits `caller`
    (the entry is the caller, an ancestor of it, or '*'), nearest the root first; None if none."""
    for name, allowed in _listings(target):
        for entry in allowed:
            if entry == "*" or (entry != "" and is_child_namespace(caller, entry)):
                return name, entry
    return None


def forget(namespace: str | None = None) -> None:
    """Drop cached listings (all, or those of `namespace` and its children): after an edit."""
    with _lock:
        if namespace is None:
            _cache.clear()
        else:
            for name in [n for n in _cache if n == namespace or n.startswith(namespace + ".")]:
                del _cache[name]
