"""Password-guessing throttle for HTTP basic auth: failures counted per username and per client
address in Django's cache, over a sliding window of `WEIR_BASIC_AUTH_WINDOW_SECONDS`.

A username with `WEIR_BASIC_AUTH_MAX_FAILURES` failures, or an address with
`WEIR_BASIC_AUTH_MAX_IP_FAILURES`, is refused (429) until the window passes, whether the next
password is right or not: a correct guess made while locked out teaches nothing. A success clears
the username's count. The login page's own throttle is separate; both count the same kind of
event, so one shared counter is a later simplification.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def _window() -> int:
    return int(getattr(settings, "WEIR_BASIC_AUTH_WINDOW_SECONDS", 900))


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"weir:basic-fail:user:{username.lower()}", f"weir:basic-fail:ip:{address}"


def locked(username: str, address: str) -> bool:
    user_key, ip_key = _keys(username, address)
    return (int(cache.get(user_key, 0)) >= int(getattr(settings, "WEIR_BASIC_AUTH_MAX_FAILURES", 5))
            or int(cache.get(ip_key, 0)) >= int(getattr(settings, "WEIR_BASIC_AUTH_MAX_IP_FAILURES", 20)))


def failed(username: str, address: str) -> None:
    for key in _keys(username, address):
        if not cache.add(key, 1, _window()):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, _window())


def succeeded(username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])


def retry_after() -> int:
    return _window()
