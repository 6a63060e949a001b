"""The email channel: one multipart (plain text + HTML) message per alert over SMTP.

`security` is "none" (plain SMTP, e.g. a local relay), "starttls" (upgrade on the submission
port) or "ssl" (TLS from the first byte, port 465). Certificates are always verified against
the system store, or against `ssl_context` when the caller passes one.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from monitor.alerts.message import AlertMessage, email_subject, render_html, render_text
from monitor.config import EmailConfig
from monitor.errors import DeliveryError

log = logging.getLogger(__name__)


def build_email(cfg: EmailConfig, message: AlertMessage) -> EmailMessage:
    """The MIME message: headers plus text/plain and text/html alternatives."""
    mail = EmailMessage()
    mail["Subject"] = email_subject(message)
    mail["From"] = cfg.sender
    mail["To"] = ", ".join(cfg.recipients)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = message.message_id
    if message.thread_id is not None:
        # a rumour's alerts form one thread in mail clients, under its first alert
        mail["In-Reply-To"] = message.thread_id
        mail["References"] = message.thread_id
    # mark it machine-made so vacation responders and ticket systems leave it alone
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Rumour-Id"] = message.rumour_id
    mail.set_content(render_text(message))
    mail.add_alternative(render_html(message), subtype="html")
    return mail


class EmailChannel:
    name = "email"

    def __init__(self, cfg: EmailConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.cfg = cfg
        self.ssl_context = ssl_context

    @property
    def where(self) -> str:
        return f"{self.cfg.host}:{self.cfg.port} ({self.cfg.security})"

    def send(self, message: AlertMessage) -> None:
        mail = build_email(self.cfg, message)
        try:
            refused = self._transmit(mail)
        except smtplib.SMTPAuthenticationError as exc:
            reason = f"login as {self.cfg.username!r} refused: {_reply(exc)}"
            raise self._error(reason) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._error(f"every recipient refused: {sorted(exc.recipients)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise self._error(f"server answered {_reply(exc)}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, timeout, TLS failure
            raise self._error(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            # Accepted for some recipients: a retry would double their copy, so report only.
            log.warning("email %s: some recipients refused: %s", message.message_id, refused)

    def probe(self) -> str:
        """Connect, greet (EHLO), secure the connection as configured, and QUIT: no login and
        no message. What the server said, or DeliveryError saying why it could not be reached."""
        try:
            smtp = self._connect()
            try:
                self._secure(smtp)
                if self.cfg.username and not smtp.has_extn("auth"):
                    # login() would refuse every alert with SMTPNotSupportedError
                    raise self._error(
                        f"server offers no AUTH, so the login as {self.cfg.username!r} would"
                        " fail: remove `username` if this relay needs none, or check host,"
                        " port and security"
                    )
            finally:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except smtplib.SMTPResponseException as exc:
            raise self._error(f"server answered {_reply(exc)}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, timeout, TLS failure
            raise self._error(f"{type(exc).__name__}: {exc}") from exc
        secured = {"starttls": ", STARTTLS ok", "ssl": ", TLS ok"}.get(self.cfg.security, "")
        return f"{self.where} answered EHLO{secured}"

    def _transmit(self, mail: EmailMessage) -> dict[str, tuple[int, bytes]]:
        smtp = self._connect()
        try:
            self._secure_and_login(smtp)
            return smtp.send_message(mail)
        finally:
            # Once the server has accepted the message a failing QUIT must not turn the send
            # into an error (and so a duplicate on retry).
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        if cfg.security == "ssl":
            return smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout, context=self._context()
            )
        return smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)

    def _secure_and_login(self, smtp: smtplib.SMTP) -> None:
        self._secure(smtp)
        if self.cfg.username:
            smtp.login(self.cfg.username, self.cfg.password or "")

    def _secure(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if self.cfg.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError(
                    'server does not offer STARTTLS (set security = "none" only for a '
                    "trusted local relay)"
                )
            smtp.starttls(context=self._context())
            smtp.ehlo()

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _error(self, reason: str) -> DeliveryError:
        return DeliveryError(f"email via {self.where}: {reason}", channel=self.name)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {text}".strip()
