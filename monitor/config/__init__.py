"""Load config.toml once into typed, frozen objects.

Every problem is a ConfigError naming the file and the key, so an operator can fix it without
reading code. Nothing else in the monitor reads the file or the environment for settings.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from monitor import __version__
from monitor.config.reader import Table, parse_duration
from monitor.config.types import (
    AlertsConfig,
    AppriseConfig,
    Config,
    DatabaseConfig,
    EmailConfig,
    FeedConfig,
    MatchingConfig,
    ModelConfig,
    PollingConfig,
    QueueConfig,
    Security,
    SeedsConfig,
    ServiceConfig,
    SlackConfig,
    apprise_channel,
)
from monitor.controls import has_controls
from monitor.errors import ConfigError
from monitor.urls import is_loopback_host

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_USER_AGENT",
    "AlertsConfig",
    "AppriseConfig",
    "Config",
    "DatabaseConfig",
    "EmailConfig",
    "FeedConfig",
    "MatchingConfig",
    "ModelConfig",
    "PollingConfig",
    "QueueConfig",
    "Security",
    "SeedsConfig",
    "ServiceConfig",
    "SlackConfig",
    "apprise_channel",
    "default_config",
    "default_config_path",
    "load_config",
    "parse_duration",
]

DEFAULT_USER_AGENT = (
    f"rumour-monitor/{__version__} (+https://github.com/rumour-monitor/rumour-monitor)"
)
CONFIG_ENV = "RUMOUR_MONITOR_CONFIG"


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or "config.toml")


def load_config(path: Path | str, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raise ConfigError naming the file and key.

    `*_env` secrets are read from `environ`, by default the process environment; one that is
    unset raises MissingSecretError, a ConfigError naming the variable.
    """
    file = Path(path).expanduser().resolve()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: config file not found (pass --config PATH or set {CONFIG_ENV})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: TOML syntax error: {exc}") from exc
    return _build(Table(raw, "", file, environ), file)


def default_config(path: Path | str) -> Config:
    """Every default, as if `path` held an empty file (for commands that need no setup)."""
    file = Path(path).expanduser().resolve()
    return _build(Table({}, "", file), file)


def _build(root: Table, file: Path) -> Config:
    base = file.parent
    polling = _polling(root.sub("polling"), root)
    config = Config(
        path=file,
        database=_database(root.sub("database"), root, base),
        seeds=_seeds(root.sub("seeds"), root, base),
        polling=polling,
        service=_service(root.sub("service"), root),
        feeds=_feeds(root, polling),
        model=_model(root.sub("model"), root, base),
        matching=_matching(root.sub("matching"), root),
        alerts=_alerts(root.sub("alerts"), root),
        queue=_queue(root.sub("queue"), root),
    )
    root.finish()
    if config.queue.distributed and not config.database.url.startswith("postgresql"):
        raise root.error(
            "queue.backend",
            f"procrastinate keeps its jobs in PostgreSQL, but [database] url is "
            f'{config.database.url!r}: set url = "postgresql+psycopg://user@host/db", or '
            'backend = "local" for one process on SQLite',
        )
    return config


def _empty(root: Table, key: str) -> Table:
    return Table({}, key, root.file)


def _database(table: Table | None, root: Table, base: Path) -> DatabaseConfig:
    t = table or _empty(root, "database")
    url = str(t.text("url", "sqlite:///state/rumours.db"))
    connect_timeout = t.duration("connect_timeout", "10s", lo=1.0, hi=3600.0)
    statement_timeout = t.duration("statement_timeout", "10m", lo=1.0, hi=7 * 86400)
    t.finish()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rest = url.removeprefix("sqlite:///")
        if rest and rest != ":memory:":
            url = f"sqlite:///{(base / rest).resolve()}"
    elif not url.startswith(("sqlite", "postgresql")):
        raise t.error("url", f"unsupported database URL {url!r}: {_DRIVERS}")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise t.error("url", f"not a database URL: {exc}") from None
    if parsed.drivername not in _DRIVER_NAMES:
        raise t.error(
            "url", f"driver {parsed.drivername!r} is not one the monitor can use: {_DRIVERS}"
        )
    if parsed.get_backend_name() == "sqlite":
        if parsed.host:
            raise t.error(
                "url",
                f"{url!r} names a host; use sqlite:///relative/path.db or"
                " sqlite:////absolute/path.db",
            )
        if parsed.database in (None, "", ":memory:"):
            # Each command opens its own connection: an in-memory database would vanish when
            # `init` exits, and every later command would find no schema.
            raise t.error(
                "url",
                f"{url!r} is an in-memory database, which lives only as long as one command"
                " (`init` would create it and `status` find it empty): name a file, such as"
                ' "sqlite:///state/rumours.db"',
            )
    return DatabaseConfig(
        url=url, connect_timeout=connect_timeout, statement_timeout=statement_timeout
    )


# The drivers installed with the monitor: SQLite's, which Python ships, and psycopg 3.
_DRIVER_NAMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
_DRIVERS = (
    "use sqlite:///PATH, or postgresql+psycopg://USER@HOST/DB (postgresql:// also means"
    " psycopg 3, the PostgreSQL driver installed with the monitor)"
)


def _queue(table: Table | None, root: Table) -> QueueConfig:
    t = table or _empty(root, "queue")
    backend = t.text("backend", "local")
    if backend not in ("local", "procrastinate"):
        raise t.error("backend", f"must be local or procrastinate, got {backend!r}")
    cfg = QueueConfig(
        backend=backend,
        stall_timeout=t.duration("stall_timeout", "1m", lo=3, hi=86400),
        keep_jobs_days=t.integer("keep_jobs_days", 7, 1, 3650),
    )
    t.finish()
    return cfg


def _seeds(table: Table | None, root: Table, base: Path) -> SeedsConfig:
    t = table or _empty(root, "seeds")
    paths = t.strings("paths", ["seeds"])
    t.finish()
    return SeedsConfig(paths=tuple((base / p).resolve() for p in paths))


def _polling(table: Table | None, root: Table) -> PollingConfig:
    t = table or _empty(root, "polling")
    cfg = PollingConfig(
        interval=t.duration("interval", "15m", lo=10),
        timeout=t.duration("timeout", "20s", lo=0.1, hi=600),
        user_agent=str(t.text("user_agent", DEFAULT_USER_AGENT)),
        allow_private_networks=t.flag("allow_private_networks", False),
        max_bytes=t.integer("max_bytes", 10 * 1024 * 1024, 1024, 1024**3),
        host_delay=t.duration("host_delay", "1s", lo=0, hi=600),
        host_concurrency=t.integer("host_concurrency", 2, 1, 64),
        concurrency=t.integer("concurrency", 16, 1, 512),
        feed_budget=t.duration("feed_budget", "2m", lo=1, hi=86400),
    )
    t.finish()
    return cfg


def _service(table: Table | None, root: Table) -> ServiceConfig:
    t = table or _empty(root, "service")
    listen = t.text("listen", None)
    if listen is not None and not re.match(r"^[\w.\-:\[\]]+:\d{1,5}$", listen):
        raise t.error("listen", f"must be HOST:PORT, got {listen!r}")
    if listen is not None and int(listen.rsplit(":", 1)[1]) > 65535:
        raise t.error("listen", f"port must be between 0 and 65535, got {listen!r}")
    cfg = ServiceConfig(
        listen=listen,
        retention_days=t.integer("retention_days", 90, 1, 36500),
        tick=t.duration("tick", "30s", lo=1, hi=3600),
        maintenance_at=_clock(t, "maintenance_at", "04:15"),
        # At least 2: a hit records its use only to the day (monitor.reading.embed.REFRESH_AFTER),
        # so 1 could drop a vector used a few hours ago.
        embedding_cache_days=t.integer("embedding_cache_days", 30, 2, 36500),
        allowed_hosts=_host_names(t, "allowed_hosts"),
    )
    t.finish()
    return cfg


_HOST_NAME = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?)$")


def _host_names(t: Table, key: str) -> tuple[str, ...]:
    """Host names as a browser sends them in Host (no port, no scheme), lower-cased."""
    names = t.strings(key, [])
    for name in names:
        if not _HOST_NAME.match(name.strip()):
            raise t.error(
                key, f"{name!r} is not a host name (give names such as monitor.example.org)"
            )
    return tuple(name.strip().lower().rstrip(".") for name in names)


def _clock(t: Table, key: str, default: str) -> tuple[int, int]:
    raw = str(t.text(key, default))
    match = re.match(r"^([01]?\d|2[0-3]):([0-5]\d)$", raw.strip())
    if not match:
        raise t.error(key, f"must be a UTC time of day HH:MM, got {raw!r}")
    return int(match.group(1)), int(match.group(2))


def _feeds(root: Table, polling: PollingConfig) -> tuple[FeedConfig, ...]:
    root.seen.add("feeds")
    raw = root.data.get("feeds", [])
    if not isinstance(raw, list):
        raise root.error("feeds", "must be an array of tables ([[feeds]])")
    feeds: list[FeedConfig] = []
    for index, item in enumerate(raw):
        t = Table(item, f"feeds[{index}]", root.file, root.environ)
        feed = FeedConfig(
            name=str(t.text("name")),
            url=str(t.text("url")),
            credibility=t.number("credibility", 0.6, 0.0, 1.0),
            interval=t.duration("interval", f"{polling.interval}s", lo=10),
            enabled=t.flag("enabled", True),
        )
        t.finish()
        if has_controls(feed.name):  # stored names are free of them (monitor.controls)
            raise t.error("name", f"{feed.name!r} holds a control character")
        if not feed.url.startswith(("http://", "https://")):
            raise t.error("url", f"must be an http:// or https:// URL, got {feed.url!r}")
        if any(f.name == feed.name for f in feeds):
            raise t.error("name", f"duplicate feed name {feed.name!r}")
        feeds.append(feed)
    return tuple(feeds)


def _model(table: Table | None, root: Table, base: Path) -> ModelConfig:
    t = table or _empty(root, "model")
    name = str(t.text("name", "bundled"))
    # A path resolves against the config's folder like every other; a hub name such as
    # "sentence-transformers/all-MiniLM-L6-v2" looks the same, so a folder must exist there.
    local = Path(name).expanduser() if name.startswith("~") else base / name
    if name.startswith(("./", "../", "~")) or (name != "bundled" and local.is_dir()):
        name = str(local.resolve())
    reader = str(t.text("reader", "bundled"))
    if reader not in ("bundled", "rules"):
        folder = Path(reader).expanduser()
        folder = folder if folder.is_absolute() else base / folder
        if not (folder / "reader.json").is_file():
            raise t.error(
                "reader",
                f"{reader!r} is no trained reader (no reader.json in {folder}); "
                "use 'bundled', 'rules' or the folder a training run wrote",
            )
        reader = str(folder.resolve())
    cfg = ModelConfig(name=name, batch_size=t.integer("batch_size", 64, 1, 4096), reader=reader)
    t.finish()
    return cfg


def _matching(table: Table | None, root: Table) -> MatchingConfig:
    t = table or _empty(root, "matching")
    cfg = MatchingConfig(
        similarity=t.number("similarity", 0.35, 0.0, 1.0),
        max_sentences=t.integer("max_sentences", 400, 1, 100_000),
        candidates=t.integer("candidates", 4, 1, 100),
    )
    t.finish()
    return cfg


def _alerts(table: Table | None, root: Table) -> AlertsConfig:
    t = table or _empty(root, "alerts")
    email_t, slack_t, apprise_t = t.sub("email"), t.sub("slack"), t.sub("apprise")
    cfg = AlertsConfig(
        email=_email(email_t) if email_t else None,
        slack=_slack(slack_t) if slack_t else None,
        max_attempts=t.integer("max_attempts", 8, 1, 100),
        backoff=t.duration("backoff", "1m", lo=0, hi=86400),
        apprise=_apprise(apprise_t) if apprise_t else None,
    )
    t.finish()
    return cfg


def _email(t: Table) -> EmailConfig:
    security = t.text("security", "starttls")
    if security not in ("none", "starttls", "ssl"):
        raise t.error("security", f"must be none, starttls or ssl, got {security!r}")
    cfg = EmailConfig(
        host=str(t.text("host")),
        port=t.integer("port", 465 if security == "ssl" else 587, 1, 65535),
        security=security,
        username=t.text("username", None),
        password=_password(t),
        sender=str(t.text("sender")),
        recipients=t.strings("recipients"),
        timeout=t.duration("timeout", "30s", lo=0.1, hi=600),
    )
    t.finish()
    if not cfg.recipients:
        raise t.error("recipients", "must name at least one address")
    if cfg.username is not None and cfg.password is None:
        raise t.error("password_env", f"username {cfg.username!r} is set but no password is")
    return cfg


def _password(t: Table) -> str | None:
    if "password" in t.data:
        # config.toml is often world-readable and copied around; the environment file the
        # service reads is root-only (systemd/rumour-monitor.env.example).
        raise t.error(
            "password",
            "a password in config.toml is refused: put it in an environment variable and name"
            ' that variable with password_env = "RUMOUR_SMTP_PASSWORD" (under systemd, in'
            " /etc/rumour-monitor/rumour-monitor.env, mode 0600)",
        )
    return t.secret("password")


def _slack(t: Table) -> SlackConfig:
    url = t.secret("webhook_url")
    key = "webhook_url_env" if "webhook_url_env" in t.data else "webhook_url"
    if url is None:
        raise t.error("webhook_url", "is required (or webhook_url_env naming a variable)")
    problem = webhook_problem(url)
    if problem is not None:
        raise t.error(key, problem)
    cfg = SlackConfig(webhook_url=url, timeout=t.duration("timeout", "20s", lo=0.1, hi=600))
    t.finish()
    return cfg


def webhook_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook, or None. The URL itself is never quoted: its path is the
    secret. Plain http is allowed to a loopback host only (a local relay, a test server)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https:// URL with a host, such as https://hooks.slack.com/services/..."
    if parts.scheme == "http" and not is_loopback_host(host):
        return (
            f"must be https:// (http:// only to a loopback host such as 127.0.0.1), got an"
            f" http:// URL to {host}: the webhook URL and every alert would cross the network"
            " in clear"
        )
    return None


# Apprise reads lists of URLs separated by commas and/or whitespace; so does urls_env.
_URL_SEPARATORS = re.compile(r"[\s,]+")


def _apprise(t: Table) -> AppriseConfig:
    supports = _apprise_support(t)
    urls, key = _apprise_urls(t)
    if not urls:
        raise t.error(key, "must list at least one Apprise URL")
    names: set[str] = set()
    for number, url in enumerate(urls, 1):
        # The URL itself is not echoed: its user, password or token are secrets.
        scheme = url.split("://", 1)[0] if "://" in url else "(no scheme)"
        if not supports(url):
            raise t.error(key, f"URL {number} ({scheme}://...) is not one Apprise can use")
        if apprise_channel(url) in names:
            raise t.error(key, f"URL {number} ({scheme}://...) is listed twice")
        names.add(apprise_channel(url))
    cfg = AppriseConfig(urls=urls, timeout=t.duration("timeout", "20s", lo=0.1, hi=600))
    t.finish()
    return cfg


def _apprise_support(t: Table) -> Callable[[str], bool]:
    """Whether Apprise understands a URL; a ConfigError when the optional apprise is missing."""
    try:
        import apprise
    except ImportError:
        raise t.error(
            "", "needs the optional apprise package: pip install 'rumour-monitor[apprise]'"
        ) from None
    return lambda url: apprise.Apprise.instantiate(url) is not None


def _apprise_urls(t: Table) -> tuple[tuple[str, ...], str]:
    """The URLs from `urls` or from the variable `urls_env` names, and the key they came from."""
    inline = t.strings("urls") if "urls" in t.data else None
    env_name = t.text("urls_env", None)
    if inline is not None and env_name is not None:
        raise t.error("urls", "give either urls or urls_env, not both")
    if env_name is None:
        if inline is None:
            raise t.error("urls", "is required (or urls_env naming a variable)")
        return tuple(url.strip() for url in inline), "urls"
    value = t.environ.get(env_name, "")
    if not value.strip():
        raise t.missing_secret("urls_env", env_name)
    return tuple(_URL_SEPARATORS.split(value.strip())), "urls_env"
