"""Server logs and Django's error emails masked like every other output (RELIABILITY.md §4 row 19).

An exception whose message or local variables hold a secret (a task's HTTP error body, a failed
render) reaches the process log and, in production, the admins' mailbox through
`AdminEmailHandler`, whose body is the whole technical 500 report. `MaskSecrets` masks a log
record's message and traceback text before any handler formats it; `MaskingAdminEmailHandler`
masks the finished subject and bodies, since the report is built from the traceback's frames
after filters have run. Both use this process's masking registry (`secrets_mask`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.log import AdminEmailHandler

from apps.secrets.masking import mask


class MaskSecrets(logging.Filter):
    """Mask the record's formatted message (and traceback text) in place; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


class MaskingAdminEmailHandler(AdminEmailHandler):
    """`AdminEmailHandler` whose email (subject, text and HTML report) is masked before sending."""

    def send_mail(self, subject: Any, message: Any, *args: Any, **kwargs: Any) -> None:
        html = kwargs.get("html_message")
        if isinstance(html, str):
            kwargs["html_message"] = mask(html)
        super().send_mail(mask(str(subject)), mask(str(message)), *args, **kwargs)
