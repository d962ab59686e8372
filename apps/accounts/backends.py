"""The login throttle as an authentication backend (django-axes; settings: AXES_*).

Listed first in AUTHENTICATION_BACKENDS: it refuses a locked-out username or address before any
password is checked. A call without a request (a management command, a test client's `login`)
is not an attempt from the network and is not throttled.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):  # type: ignore[misc]
    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:
        if request is None:
            return None
        super().authenticate(request, username=username, password=password, **kwargs)
        return None
