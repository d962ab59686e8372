"""`io.kestra.plugin.notifications.mail.MailSend` (PLUGINS.md §8) on the standard library.

The SMTP server comes from the task (`host`, `port`, …), or, when `host` is not set, from the
instance's email settings (Django's `EMAIL_*`, given to plugins by `RunContext.mail_defaults`).
The connection goes through the egress policy and to the checked address; TLS still verifies
the server's name.
"""

from __future__ import annotations

import mimetypes
import smtplib
import socket
import ssl
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Annotated, Any, Literal

from pydantic import Field

from apps.plugins.sdk import (
    Dyn,
    DynInt,
    EgressDenied,
    Issue,
    Plugin,
    Properties,
    RunContext,
    RunnableTask,
    TaskFailed,
    TaskProperties,
    ValidationContext,
    dynamic,
    egress_check_host,
)

GROUP = "io.kestra.plugin.notifications.mail"
Strategy = Literal["SMTP", "SMTPS", "SMTP_TLS", "SMTP_OAUTH2"]


class Attachment(Properties):
    uri: str = dynamic(description="`kestra://` URI of the file.")
    name: str = dynamic(description="File name shown in the email.")
    contentType: str = dynamic("application/octet-stream", description="MIME type.")


class _PinnedSMTP(smtplib.SMTP):
    """SMTP to a checked address; STARTTLS still verifies the original host name."""

    def __init__(self, address: str, timeout: float) -> None:
        self._address = address
        super().__init__(timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self._address, port), timeout, self.source_address)


class _PinnedSMTPS(smtplib.SMTP_SSL):
    """Implicit TLS to a checked address, verified against the original host name."""

    def __init__(self, address: str, timeout: float, context: ssl.SSLContext) -> None:
        self._address = address
        super().__init__(timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        raw = socket.create_connection((self._address, port), timeout, self.source_address)
        return self.context.wrap_socket(raw, server_hostname=self._host)  # type: ignore[attr-defined]


def _addresses(text: str | None) -> list[str]:
    return [a.strip() for a in (text or "").split(";") if a.strip()]


class MailSend(RunnableTask):
    """Send an email (text and HTML alternatives, with attachments and inline images).

    `transportStrategy`: SMTPS (default, implicit TLS, usually port 465), SMTP_TLS (STARTTLS,
    usually 587) or SMTP (plain). `to` and `cc` take several addresses separated by `;`.
    `attachments` and `embeddedImages` are lists of `{uri, name, contentType}`; an embedded image
    is referenced in the HTML as `cid:<name>`. Without `host`, the instance's email settings are
    used. SMTP errors fail the task.
    """

    type = f"{GROUP}.MailSend"
    title = "Send an email"
    group = GROUP
    icon = "mail"
    examples = (
        """\
id: mail
namespace: company.team
tasks:
  - id: mail
    type: io.kestra.plugin.notifications.mail.MailSend
    host: smtp.example.com
    port: 465
    username: "{{ secret('SMTP_USER') }}"
    password: "{{ secret('SMTP_PASS') }}"
    from: etl@example.com
    to: "a@example.com;b@example.com"
    subject: "Report {{ execution.startDate | date('yyyy-MM-dd') }}"
    htmlTextContent: "<p>Execution {{ execution.id }} is done.</p>"
""",
    )

    class Properties(TaskProperties):
        host: str | None = dynamic(None, description="SMTP server (default: the instance's email settings).")
        port: DynInt | None = dynamic(None, description="SMTP port.")
        username: str | None = dynamic(None, description="SMTP user.")
        password: str | None = dynamic(None, description="SMTP password.")
        transportStrategy: Annotated[Strategy, Dyn] = dynamic("SMTPS", description="How to connect.")
        sessionTimeout: DynInt = dynamic(10000, description="Connection timeout in milliseconds.")
        from_: Annotated[str | None, Field(alias="from")] = dynamic(None, description="Sender address (required).")
        to: str | None = dynamic(None, description="Recipients, `;`-separated.")
        cc: str | None = dynamic(None, description="Copy recipients, `;`-separated.")
        subject: str | None = dynamic(None, description="Subject.")
        htmlTextContent: str | None = dynamic(None, description="HTML body.")
        plainTextContent: str = dynamic("Please view this email in a modern email client",
                                        description="Text body for clients without HTML.")
        attachments: list[Attachment] | None = dynamic(None, description="Files to attach.")
        embeddedImages: list[Attachment] | None = dynamic(None, description="Images referenced as cid:<name>.")

    @classmethod
    def validate(cls, props: Any, raw: Mapping[str, Any], ctx: ValidationContext) -> Iterable[Issue]:
        if raw.get("transportStrategy") == "SMTP_OAUTH2":
            yield ("transportStrategy",), ("SMTP_OAUTH2 is not supported by Weir: use SMTPS or SMTP_TLS "
                                           "with a username and password")

    def run(self, ctx: RunContext, props: Properties) -> None:  # type: ignore[override]
        defaults: dict[str, Any] = ctx.mail_defaults() if not props.host else {}
        sender = props.from_ or defaults.get("from")
        if not sender:
            raise TaskFailed("`from` is required: the sender's address")
        recipients = _addresses(props.to) + _addresses(props.cc)
        if not recipients:
            raise TaskFailed("set `to` (or `cc`): there is nobody to send to")
        message = self.build(ctx, props, sender)
        host = props.host or defaults.get("host") or "localhost"
        strategy = props.transportStrategy if props.host else defaults.get("strategy", "SMTP")
        if strategy == "SMTP_OAUTH2":
            raise TaskFailed("transportStrategy SMTP_OAUTH2 is not supported: use SMTPS or SMTP_TLS")
        port = props.port or defaults.get("port") or {"SMTPS": 465, "SMTP_TLS": 587}.get(strategy, 25)
        username = props.username or defaults.get("username")
        password = props.password or defaults.get("password")
        try:
            target = egress_check_host("smtp", host, int(port), what="SMTP connection")
        except EgressDenied as error:
            raise TaskFailed(str(error)) from error
        timeout = props.sessionTimeout / 1000
        try:
            if strategy == "SMTPS":
                client: smtplib.SMTP = _PinnedSMTPS(target.address, timeout, ssl.create_default_context())
            else:
                client = _PinnedSMTP(target.address, timeout)
            with client:
                client.connect(host, int(port))
                if strategy == "SMTP_TLS":
                    client.starttls(context=ssl.create_default_context())
                if username:
                    client.login(username, password or "")
                client.send_message(message, from_addr=sender, to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as error:
            raise TaskFailed(f"Sending the email through {host}:{port} failed: {error}") from error
        ctx.log("INFO", f"Email sent to {len(recipients)} recipient(s)")

    @staticmethod
    def build(ctx: RunContext, props: Any, sender: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = sender
        if props.to:
            message["To"] = ", ".join(_addresses(props.to))
        if props.cc:
            message["Cc"] = ", ".join(_addresses(props.cc))
        message["Subject"] = props.subject or ""
        message["Return-Receipt-To"] = sender
        message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] if "@" in sender else None)
        message.set_content(props.plainTextContent)
        if props.htmlTextContent is not None:
            message.add_alternative(props.htmlTextContent, subtype="html")
            if props.embeddedImages:
                html: Any = message.get_payload()[-1]  # type: ignore[index]
                for image in props.embeddedImages:
                    maintype, subtype = _mime(image)
                    html.add_related(ctx.get_file(image.uri), maintype=maintype, subtype=subtype,
                                     cid=f"<{image.name}>", filename=image.name)
        for item in props.attachments or []:
            maintype, subtype = _mime(item)
            message.add_attachment(ctx.get_file(item.uri), maintype=maintype, subtype=subtype, filename=item.name)
        return message


def _mime(item: Attachment) -> tuple[str, str]:
    kind = item.contentType
    if kind == "application/octet-stream":
        kind = mimetypes.guess_type(item.name)[0] or kind
    maintype, _, subtype = kind.partition("/")
    return maintype, subtype or "octet-stream"


PLUGINS: list[type[Plugin]] = [MailSend]
