"""SECRET inputs encrypted at rest (KESTRA.md §1.3): sealed when an execution is created,
revealed only to build a render context, masked everywhere else.

A sealed value is the string `weir:sealed:v1:<Fernet token>` in `Execution.inputs`, so the row,
its replays and restarts carry ciphertext only; `secrets_mask.mask` turns any envelope that
reaches a writer into `********`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from apps.engine.expressions.taint import Tainted
from apps.secrets import crypto
from apps.secrets.masking import SEALED_PREFIX, remember


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def seal(value: str) -> str:
    return value if is_sealed(value) else SEALED_PREFIX + crypto.encrypt(value)


def unseal(value: str) -> str:
    return crypto.decrypt(value[len(SEALED_PREFIX):]) if is_sealed(value) else value


def _secret_ids(declarations: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    ids = [str(d.get("id") or d.get("name") or "") for d in declarations if d.get("type") == "SECRET"]
    return [i.split(".") for i in ids if i]


def seal_inputs(declarations: Sequence[Mapping[str, Any]], inputs: dict[str, Any]) -> dict[str, Any]:
    """`inputs` with the string value of every SECRET declaration sealed (dotted ids nest)."""
    for path in _secret_ids(declarations):
        node: Any = inputs
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(path[-1]), str):
            node[path[-1]] = seal(node[path[-1]])
    return inputs


def reveal_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `inputs` with sealed values decrypted (as `Tainted` strings) and remembered for masking."""
    def reveal(value: Any) -> Any:
        if is_sealed(value):
            plain = unseal(value)
            remember(plain)
            return Tainted(plain)  # what a render computes from it is masked too
        if isinstance(value, Mapping):
            return {k: reveal(v) for k, v in value.items()}
        return value

    return {k: reveal(v) for k, v in inputs.items()}


def rotate_inputs(inputs: Any) -> tuple[Any, bool]:
    """`inputs` with every sealed value re-encrypted under the first key; and whether any was."""
    if is_sealed(inputs):
        return SEALED_PREFIX + crypto.rotate(inputs[len(SEALED_PREFIX):]), True
    if isinstance(inputs, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, value in inputs.items():
            out[key], hit = rotate_inputs(value)
            changed = changed or hit
        return out, changed
    return inputs, False
