"""Real local servers for the alert channels: aiosmtpd (plain, STARTTLS, SSL) and rows to send.

The Slack side uses pytest-httpserver's `httpserver` fixture directly.
"""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.alerts.outbox import enqueue
from monitor.config import Config, load_config
from monitor.db import Database
from monitor.db.models import Alert, Article, Rumour, Transition

USER, PASSWORD = "monitor", "s3cret-pass"
# config.toml refuses an inline password: the tests name variables holding these ones
PASSWORD_ENV = {PASSWORD: "RM_TEST_SMTP_PASSWORD", "wrong": "RM_TEST_SMTP_WRONG_PASSWORD"}


@pytest.fixture(autouse=True)
def smtp_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, variable in PASSWORD_ENV.items():
        monkeypatch.setenv(variable, value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """The webhook stand-in listens on 127.0.0.1 only (pytest-httpserver's default is localhost)."""
    return ("127.0.0.1", 0)


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """Verifies the server against this self-signed certificate, hostname included."""
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A fresh self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not found: TLS tests need it to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Cert(cert, key)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None
    tls: bool


@dataclass
class Recorder:
    """aiosmtpd handler and authenticator that keeps every message and login it sees."""

    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.login.decode() if session.authenticated else None
        # STARTTLS sets session.ssl; implicit TLS shows only on the transport
        tls = bool(session.ssl) or server.transport.get_extra_info("ssl_object") is not None
        self.messages.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, login, tls)
        )
        return "250 OK queued"

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        # handled=False: aiosmtpd sends the 235 / 535 reply itself
        return AuthResult(success=ok, handled=False, auth_data=auth if ok else None)


@dataclass
class SmtpServer:
    port: int
    recorder: Recorder
    controller: Controller | None = None

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(tls_cert: Cert) -> Iterator[Callable[..., SmtpServer]]:
    """Start an aiosmtpd server: security none|starttls|ssl, login required, on a given port."""
    started: list[SmtpServer] = []

    def start(security: str = "none", *, port: int | None = None, auth: bool = True) -> SmtpServer:
        # The test server takes logins without TLS on purpose (security = "none" with login).
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        recorder = Recorder()
        kwargs: dict[str, Any] = {}
        if auth:
            kwargs.update(authenticator=recorder, auth_required=True)
            # aiosmtpd only counts STARTTLS as TLS; implicit TLS ("ssl") is encrypted anyway
            kwargs["auth_require_tls"] = security == "starttls"
        if security == "starttls":
            kwargs.update(tls_context=tls_cert.server_context(), require_starttls=True)
        if security == "ssl":
            kwargs["ssl_context"] = tls_cert.server_context()
        server = SmtpServer(port or free_port(), recorder)
        server.controller = Controller(recorder, hostname="127.0.0.1", port=server.port, **kwargs)
        server.controller.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def alert_config(write_config: Callable[..., Path]) -> Callable[..., Config]:
    """A loaded Config whose [alerts] section is the given TOML."""

    def make(alerts_toml: str = "") -> Config:
        return load_config(write_config(alerts_toml))

    return make


def email_toml(port: int, security: str = "none", *, password: str = PASSWORD) -> str:
    return f"""
[alerts]
max_attempts = 3
backoff = "1m"

[alerts.email]
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "{USER}"
password_env = "{PASSWORD_ENV[password]}"
sender = "monitor@example.org"
recipients = ["desk@example.org", "ops@example.org"]
timeout = "5s"
"""


def slack_toml(url: str) -> str:
    return f"""
[alerts]
max_attempts = 3
backoff = "1m"

[alerts.slack]
webhook_url = "{url}"
timeout = "5s"
"""


PUBLISHED = datetime(2021, 3, 30, 9, 15, tzinfo=UTC)


def add_transition(
    db: Database,
    channels: list[str],
    *,
    title: str = "Xiaomi signs deal with Great Wall Motors",
    sentence: str = "Xiaomi signed an agreement to build its cars at a Great Wall plant.",
    url: str = "https://news.example/xiaomi-gwm",
    rumour_id: str = "xiaomi-gwm",
) -> list[int]:
    """A rumour, an article and a transition with its outbox rows, as the engine writes them."""
    with db.transaction() as s:
        if s.get(Rumour, rumour_id) is None:
            s.add(
                Rumour(
                    id=rumour_id,
                    claim="Xiaomi will build its cars with Great Wall Motors",
                    entities=["Xiaomi", "Great Wall Motors"],
                    paraphrases=[],
                )
            )
        article = Article(
            canonical_url=url,
            url=url,
            title=title,
            source="Example News",
            content_hash=str(abs(hash(url))).rjust(64, "0"),
            published_at=PUBLISHED,
        )
        s.add(article)
        s.flush()
        transition = Transition(
            rumour_id=rumour_id,
            article_id=article.id,
            from_state="unconfirmed",
            to_state="formalized",
            signal="formalize",
            sentence=sentence,
            confidence_before=0.55,
            confidence_after=0.93,
            at=PUBLISHED,
        )
        s.add(transition)
        rows: list[Alert] = enqueue(s, transition, channels)
        s.flush()
        return [row.id for row in rows]


def alert_row(db: Database, alert_id: int) -> Alert:
    with db.sessions() as s:
        row = s.get(Alert, alert_id)
        assert row is not None
        return row


EVIL_TITLE_HTML = (
    "<script>alert('x')</script><img src=x onerror=alert(1)> "
    "<!channel> <http://evil.example|click here>"
)
