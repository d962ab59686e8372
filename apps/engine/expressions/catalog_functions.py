"""Kestra's functions that reach the host, the context or randomness, and Pebble's ``max``/``min``.

* ``secret``, ``kv``, ``read``, ``fileURI``, ``fileSize``, ``errorLogs`` go through ``runtime``'s
  ``RenderServices`` (without services they fail with "secret() is not available here");
* ``render``/``renderOnce`` re-render a string with the current variables (Kestra does not render
  values recursively by itself: a ``{{ … }}`` inside a variable is text until passed to them);
* ``currentEachOutput``, ``printContext``/``fetchContext`` read the render's own variables;
* ``uuid``, ``id``, ``randomInt``, ``encrypt``/``decrypt`` (AES-GCM, Kestra's ``EncryptionService``
  format: base64 of a 12-byte IV followed by the ciphertext and tag; needs the ``cryptography`` package).
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import os
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from jinja2 import Template, pass_context
from jinja2.exceptions import TemplateRuntimeError
from jinja2.runtime import Context, Macro

from .limits import check_deadline, nested_render
from .runtime import call_service
from .taint import secret_read
from .values import defined_arguments, expect_string, require_defined, type_name

_RENDER_PASSES = 16
"""How many times ``render(x)`` re-renders a result that still changes (Kestra loops until stable)."""


class _Compiles(Protocol):
    def pebble_template(self, source: str) -> Template: ...


# -- host services ------------------------------------------------------------------------------


@pass_context
@defined_arguments
def secret(context: Context, key: Any = None, namespace: Any = None, subkey: Any = None) -> str:
    """``secret(key, namespace?, subkey?)``: a secret of the flow's namespace, masked in logs."""
    name = expect_string(key, "The 'secret' function")
    if namespace is not None and namespace != _flow_namespace(context):
        raise TemplateRuntimeError("secret(): reading the secrets of another namespace is not supported")
    value = call_service("secret", lambda services: services.secret(name))
    if subkey:
        try:
            document = json.loads(value)
        except ValueError:
            raise TemplateRuntimeError(
                f"Failed to read secret sub-key '{subkey}' from secret '{name}'. "
                "Ensure the secret contains valid JSON value."
            ) from None
        if not isinstance(document, Mapping) or subkey not in document:
            raise TemplateRuntimeError(f"Cannot find secret sub-key '{subkey}' in secret '{name}'.")
        item = document[subkey]
        value = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
    text = value if isinstance(value, str) else str(value)
    return secret_read(text)


def _flow_namespace(context: Context) -> Any:
    flow = context.get("flow")
    return flow.get("namespace") if isinstance(flow, Mapping) else None


@defined_arguments
def kv(key: Any = None, namespace: Any = None, errorOnMissing: Any = False) -> Any:
    """``kv(key, namespace?, errorOnMissing?)``: a KV store value; null when missing unless asked."""
    name = expect_string(key, "The 'kv' function")
    if namespace is not None:
        expect_string(namespace, "The 'kv' function's namespace")
    return call_service("kv", lambda services: services.kv(namespace, name, bool(errorOnMissing)))


@defined_arguments
def read(path: Any = None) -> str:
    """``read(path)``: a namespace file or a ``kestra:///`` file of this execution, as text."""
    where = expect_string(path, "The 'read' function")
    return call_service("read", lambda services: services.read(where))


@defined_arguments
def file_uri(path: Any = None) -> str:
    where = expect_string(path, "The 'fileURI' function")
    return call_service("fileURI", lambda services: services.file_uri(where))


@defined_arguments
def file_size(path: Any = None) -> int:
    where = expect_string(path, "The 'fileSize' function")
    return call_service("fileSize", lambda services: services.file_size(where))


def error_logs() -> list[dict[str, Any]]:
    """``errorLogs()``: the ERROR log entries of the current execution."""
    return call_service("errorLogs", lambda services: services.error_logs())


# -- context ------------------------------------------------------------------------------------


def _variables(context: Context) -> dict[str, Any]:
    """The render's variables, without the catalog's functions and the template's macros."""
    functions = context.environment.globals
    return {
        name: value
        for name, value in context.get_all().items()
        if not (functions.get(name) is value or isinstance(value, Macro))
    }


def _render_once(context: Context, source: str, variables: dict[str, Any]) -> str:
    if "{" not in source:
        return source
    environment = cast(_Compiles, context.environment)
    with nested_render():
        return environment.pebble_template(source).render(variables)


@pass_context
@defined_arguments
def render(context: Context, template: Any = None, recursive: Any = True) -> Any:
    """``render(expr, recursive=true)``: render a string containing expressions with the current
    variables; recursively (until the result stops changing) unless ``recursive=false``."""
    if template is None:
        return None
    if not isinstance(template, str):
        raise TemplateRuntimeError("The 'render' function expects an argument 'template' with type string.")
    if not isinstance(recursive, bool):
        raise TemplateRuntimeError(
            "The 'render' function expects an optional argument 'recursive' with type boolean."
        )
    variables = _variables(context)
    result = _render_once(context, template, variables)
    passes = 1
    while recursive and result != template and passes < _RENDER_PASSES:
        check_deadline()
        template, result = result, _render_once(context, result, variables)
        passes += 1
    return result


@pass_context
@defined_arguments
def render_once(context: Context, toRender: Any = None) -> Any:
    """``renderOnce(expr)``: ``render(expr, recursive=false)``."""
    return render(context, toRender, False)


@pass_context
@defined_arguments
def current_each_output(context: Context, outputs: Any = None) -> Any:
    """``currentEachOutput(outputs.t)``: inside loops, the entry of ``t`` for the current value path."""
    if not isinstance(outputs, Mapping):
        raise TemplateRuntimeError(
            "The 'currentEachOutput' function expects an argument 'outputs' with type map."
        )
    parents = context.get("parents")
    current: Mapping[Any, Any] = outputs
    if isinstance(parents, list | tuple):
        for parent in reversed(parents):
            taskrun = parent.get("taskrun") if isinstance(parent, Mapping) else None
            if isinstance(taskrun, Mapping):
                step = current.get(taskrun.get("value"))
                if not isinstance(step, Mapping):
                    raise TemplateRuntimeError("No execution outputs for the current task runs path")
                current = step
    taskrun = context.get("taskrun")
    if not isinstance(taskrun, Mapping):
        raise TemplateRuntimeError("currentEachOutput() can only be used while rendering a task run")
    return current.get(taskrun.get("value"))


@pass_context
def print_context(context: Context) -> dict[str, Any]:
    """``printContext()``/``fetchContext()``: every variable of the render, as a map (for debugging)."""
    return _variables(context)


# -- generators ---------------------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def uuid_function() -> str:
    return str(uuid.uuid4())


def id_function() -> str:
    """Kestra's ``IdUtils.create()``: a random UUID in base 62 (FriendlyId), up to 22 characters."""
    number = uuid.uuid4().int
    digits: list[str] = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits)) or "0"


@defined_arguments
def random_int(lower: Any = None, upper: Any = None) -> int:
    """``randomInt(lower, upper)``: a random integer with ``lower <= n < upper``."""
    for name, bound in (("lower", lower), ("upper", upper)):
        if isinstance(bound, bool) or not isinstance(bound, int):
            raise TemplateRuntimeError(f"The 'randomInt()' function expects an argument {name} of type Long.")
    assert isinstance(lower, int) and isinstance(upper, int)
    if upper < lower:
        raise TemplateRuntimeError("In 'randomInt()' upper is less than lower")
    return lower if upper == lower else random.randrange(lower, upper)


# -- encryption ---------------------------------------------------------------------------------

_IV_LENGTH = 12


def _aes_gcm(key: Any, function: str) -> Any:
    try:
        aead = importlib.import_module("cryptography.hazmat.primitives.ciphers.aead")
    except ImportError:
        raise TemplateRuntimeError(
            f"{function}() needs the 'cryptography' Python package, which is not installed on this worker"
        ) from None
    try:
        raw = base64.b64decode(expect_string(key, f"The '{function}' function"), validate=True)
        return aead.AESGCM(raw)
    except (binascii.Error, ValueError):
        raise TemplateRuntimeError(
            f"{function}(): the key must be a base64-encoded AES key of 16, 24 or 32 bytes"
        ) from None


@defined_arguments
def encrypt(key: Any = None, plaintext: Any = None) -> str:
    """``encrypt(key, plaintext)``: AES/GCM with a random IV; base64 of IV + ciphertext + tag."""
    cipher = _aes_gcm(key, "encrypt")
    text = expect_string(plaintext, "The 'encrypt' function")
    iv = os.urandom(_IV_LENGTH)
    encrypted: bytes = cipher.encrypt(iv, text.encode("utf-8"), None)
    return base64.b64encode(iv + encrypted).decode("ascii")


@defined_arguments
def decrypt(key: Any = None, encrypted: Any = None) -> str:
    """``decrypt(key, encrypted)``: the inverse of ``encrypt``; fails if the data was altered."""
    cipher = _aes_gcm(key, "decrypt")
    try:
        data = base64.b64decode(expect_string(encrypted, "The 'decrypt' function"), validate=True)
        plain: bytes = cipher.decrypt(data[:_IV_LENGTH], data[_IV_LENGTH:], None)
        return plain.decode("utf-8")
    except TemplateRuntimeError:
        raise
    except Exception:  # InvalidTag, bad base64, bad UTF-8: never echo key material
        raise TemplateRuntimeError("decrypt(): the value can not be decrypted with this key") from None


# -- Pebble built-ins ---------------------------------------------------------------------------


def _extreme(values: tuple[Any, ...], pick: Callable[[Any, Any], bool], name: str) -> Any:
    best: Any = None
    for value in values:
        require_defined(value)
        try:
            if best is None or pick(value, best):
                best = value
        except TypeError:
            raise TemplateRuntimeError(
                f"{name}() can not compare {type_name(value)} with {type_name(best)}"
            ) from None
    return best


def max_function(*values: Any) -> Any:
    """Pebble's ``max(a, b, …)``."""
    return _extreme(values, lambda value, best: value > best, "max")


def min_function(*values: Any) -> Any:
    """Pebble's ``min(a, b, …)``."""
    return _extreme(values, lambda value, best: value < best, "min")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "secret": secret,
    "kv": kv,
    "read": read,
    "fileURI": file_uri,
    "fileSize": file_size,
    "errorLogs": error_logs,
    "render": render,
    "renderOnce": render_once,
    "currentEachOutput": current_each_output,
    "printContext": print_context,
    "fetchContext": print_context,
    "uuid": uuid_function,
    "id": id_function,
    "randomInt": random_int,
    "encrypt": encrypt,
    "decrypt": decrypt,
    "max": max_function,
    "min": min_function,
}
