from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import load_config, parse_duration
from monitor.errors import ConfigError, MissingSecretError

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_loads_with_every_section() -> None:
    config = load_config(REPO / "config.toml")
    assert config.database.url == f"sqlite:///{REPO / 'state' / 'rumours.db'}"
    assert config.seeds.paths == (REPO / "seeds",)
    assert config.polling.interval == 900
    assert config.polling.timeout == 20
    assert config.polling.allow_private_networks is False
    assert config.service.listen == "127.0.0.1:9464"
    assert config.model.name == "bundled"
    assert len(config.feeds) >= 5
    assert all(f.url.startswith("https://") for f in config.feeds)
    assert config.alerts.email is None and config.alerts.slack is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("20s", 20), ("1.5h", 5400), ("500ms", 0.5), ("2d", 172800), ("45", 45)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "fast", "15 minutes", "-5m", "1w"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_defaults_when_sections_are_absent(write_config: Callable[..., Path]) -> None:
    path = write_config("")
    config = load_config(path)
    assert config.database.url == f"sqlite:///{path.parent / 'state' / 'rumours.db'}"
    assert config.feeds == ()
    assert config.service.listen is None
    assert (config.service.retention_days, config.service.embedding_cache_days) == (90, 30)
    assert config.matching.similarity == pytest.approx(0.35)
    assert (config.database.connect_timeout, config.database.statement_timeout) == (10, 600)


def test_database_timeouts_are_durations(write_config: Callable[..., Path]) -> None:
    path = write_config('[database]\nconnect_timeout = "30s"\nstatement_timeout = "1h"\n')
    database = load_config(path).database
    assert (database.connect_timeout, database.statement_timeout) == (30, 3600)


def test_feed_inherits_polling_interval(write_config: Callable[..., Path]) -> None:
    path = write_config(
        '[polling]\ninterval = "5m"\n'
        '[[feeds]]\nname = "A"\nurl = "https://a.example/feed"\n'
        '[[feeds]]\nname = "B"\nurl = "https://b.example/feed"\n'
        'interval = "1h"\ncredibility = 0.9\n'
    )
    a, b = load_config(path).feeds
    assert (a.interval, a.credibility) == (300, 0.6)
    assert (b.interval, b.credibility) == (3600, 0.9)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("[polling]\nintervall = '5m'\n", "polling.intervall: unknown key"),
        ("[polling]\ntimeout = 20\nuser_agent = 5\n", "polling.user_agent: must be a string"),
        ("[polling]\ninterval = 'soon'\n", "polling.interval: not a duration"),
        ("[polling]\nallow_private_networks = 'yes'\n", "polling.allow_private_networks"),
        ("[[feeds]]\nname = 'A'\nurl = 'https://a/'\ncredibility = 1.5\n", "feeds[0].credibility"),
        ("[[feeds]]\nname = 'A'\nurl = 'ftp://a/'\n", "feeds[0].url"),
        ("[[feeds]]\nurl = 'https://a/'\n", "feeds[0].name: is required"),
        (
            "[[feeds]]\nname = 'A'\nurl = 'https://a/'\n[[feeds]]\nname = 'A'\nurl = 'https://b/'\n",
            "duplicate feed name",
        ),
        ("[alerts.email]\nhost = 'smtp'\nsender = 'a@b'\nrecipients = []\n", "recipients"),
        (
            "[alerts.email]\nhost = 'x'\nsender = 'a@b'\nrecipients = ['c@d']\nsecurity = 'tls'\n",
            "security",
        ),
        ("[alerts.slack]\nwebhook_url_env = 'RM_TEST_UNSET_VAR'\n", "RM_TEST_UNSET_VAR is not set"),
        ("[service]\nlisten = 'nowhere'\n", "service.listen"),
        ("[database]\nurl = 'mysql://x'\n", "database.url"),
        ("[service]\nlisten = '127.0.0.1:99999'\n", "service.listen"),
        ("[service]\nembedding_cache_days = 1\n", "service.embedding_cache_days: must be"),
        ("[service]\nembedding_cache_days = '30d'\n", "service.embedding_cache_days: must be"),
        ("[database]\nurl = 'postgresql://u@h:notaport/db'\n", "database.url"),
        ("[database]\nurl = 'sqlite://state/r.db'\n", "database.url"),
        ("[database]\nurl = 'sqlite:state/r.db'\n", "database.url"),
        ("[database]\nconnect_timeout = '0s'\n", "database.connect_timeout"),
        ("[database]\nstatement_timeout = 'never'\n", "database.statement_timeout"),
        ("colour = 'red'\n", "colour: unknown key"),
        ("[polling\n", "TOML syntax error"),
    ],
)
def test_bad_values_name_file_and_key(
    write_config: Callable[..., Path], body: str, fragment: str
) -> None:
    path = write_config(body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found .*--config"):
        load_config(tmp_path / "nope.toml")


def test_secrets_come_from_named_environment_variables(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RM_SMTP_PW", "hunter2")
    monkeypatch.setenv("RM_HOOK", "https://hooks.example/T/B/X")
    path = write_config(
        "[alerts.email]\nhost = 'smtp.example'\nsender = 'm@example'\nrecipients = ['d@example']\n"
        "password_env = 'RM_SMTP_PW'\nsecurity = 'ssl'\n"
        "[alerts.slack]\nwebhook_url_env = 'RM_HOOK'\n"
    )
    alerts = load_config(path).alerts
    assert alerts.email is not None and alerts.slack is not None
    assert alerts.email.password == "hunter2"
    assert alerts.email.port == 465
    assert "hunter2" not in repr(alerts.email)
    assert alerts.slack.webhook_url == "https://hooks.example/T/B/X"


def test_config_objects_are_frozen() -> None:
    config = load_config(REPO / "config.toml")
    with pytest.raises(AttributeError):
        config.polling.timeout = 1  # type: ignore[misc]


def test_a_local_model_folder_resolves_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Relative paths resolve against the config's folder, a model folder too, whatever the
    # working directory (systemd starts the service in its state directory).
    site = tmp_path / "site"
    (site / "models" / "minilm").mkdir(parents=True)
    (site / "config.toml").write_text('[model]\nname = "models/minilm"\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_config(site / "config.toml").model.name == str(site / "models" / "minilm")
    # a name with no such folder next to the config is a model name, kept as written
    (site / "config.toml").write_text(
        '[model]\nname = "sentence-transformers/all-MiniLM-L6-v2"\n', encoding="utf-8"
    )
    assert load_config(site / "config.toml").model.name == "sentence-transformers/all-MiniLM-L6-v2"


def test_env_secrets_come_from_the_environment_given(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RM_TEST_HOOK", raising=False)
    path = write_config("[alerts.slack]\nwebhook_url_env = 'RM_TEST_HOOK'\n")
    config = load_config(path, environ={"RM_TEST_HOOK": "https://hooks.example.org/x"})
    assert config.alerts.slack is not None
    assert config.alerts.slack.webhook_url == "https://hooks.example.org/x"
    with pytest.raises(MissingSecretError) as info:
        load_config(path, environ={"RM_TEST_HOOK": ""})  # empty counts as unset
    assert info.value.variable == "RM_TEST_HOOK"
    assert info.value.key == "alerts.slack.webhook_url_env"
    assert info.value.exit_code == 2
    assert str(info.value).endswith(
        "alerts.slack.webhook_url_env: environment variable RM_TEST_HOOK is not set"
    )


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+nosuchdriver://u@127.0.0.1/x",
        "postgresql+asyncpg://u@127.0.0.1/x",
        "postgresql+psycopg2://u@127.0.0.1/x",
        "sqlite+aiosqlite:///state/r.db",
    ],
)
def test_a_driver_the_monitor_cannot_use_is_named_with_the_ones_it_can(
    write_config: Callable[..., Path], url: str
) -> None:
    path = write_config(f'[database]\nurl = "{url}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}: database.url: driver '{url.split(':')[0]}' is not one" in message
    assert "sqlite:///PATH" in message and "postgresql+psycopg://" in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///"])
def test_an_in_memory_database_is_refused(write_config: Callable[..., Path], url: str) -> None:
    path = write_config(f'[database]\nurl = "{url}"\n')
    with pytest.raises(ConfigError, match=r"database\.url: .* in-memory database, which lives"):
        load_config(path)


@pytest.mark.parametrize(
    "url", ["sqlite:///state/r.db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"]
)
def test_the_drivers_installed_are_accepted(write_config: Callable[..., Path], url: str) -> None:
    assert load_config(write_config(f'[database]\nurl = "{url}"\n')).database.url


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://", "must be an https:// URL with a host"),
        ("https://", "must be an https:// URL with a host"),
        ("hooks.slack.com/services/T/B/X", "must be an https:// URL with a host"),
        ("ftp://hooks.example/x", "must be an https:// URL with a host"),
        ("http://hooks.slack.com/services/T/B/X", "must be https:// (http:// only to a loopback"),
        ("https://hooks.example:99999/x", "not a URL"),
    ],
)
def test_a_webhook_url_is_checked_when_the_config_loads(
    write_config: Callable[..., Path], url: str, fragment: str
) -> None:
    path = write_config(f'[alerts.slack]\nwebhook_url = "{url}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"alerts.slack.webhook_url: {fragment}" in str(info.value)
    assert "/T/B/X" not in str(info.value)  # the path is the secret


def test_a_webhook_url_from_the_environment_names_its_variable_key(
    write_config: Callable[..., Path],
) -> None:
    path = write_config("[alerts.slack]\nwebhook_url_env = 'RM_HOOK'\n")
    with pytest.raises(ConfigError, match=r"alerts\.slack\.webhook_url_env: must be https://"):
        load_config(path, environ={"RM_HOOK": "http://hooks.example.org/T/B/X"})


@pytest.mark.parametrize(
    "url",
    ["https://hooks.slack.com/services/T/B/X", "http://127.0.0.1:8080/hook", "http://[::1]/h"],
)
def test_https_webhooks_and_plain_http_to_loopback_load(
    write_config: Callable[..., Path], url: str
) -> None:
    slack = load_config(write_config(f'[alerts.slack]\nwebhook_url = "{url}"\n')).alerts.slack
    assert slack is not None and slack.webhook_url == url


def test_allowed_hosts_are_host_names(write_config: Callable[..., Path]) -> None:
    path = write_config('[service]\nallowed_hosts = ["Monitor.Example.org", "[::1]"]\n')
    assert load_config(path).service.allowed_hosts == ("monitor.example.org", "[::1]")
    path = write_config('[service]\nallowed_hosts = ["https://monitor.example.org/"]\n')
    with pytest.raises(ConfigError, match=r"service\.allowed_hosts: .* is not a host name"):
        load_config(path)


def test_a_feed_name_with_a_control_character_is_refused(
    write_config: Callable[..., Path],
) -> None:
    path = write_config('[[feeds]]\nname = "News\\u001b[2J"\nurl = "https://a.example/feed"\n')
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.name: .* holds a control character"):
        load_config(path)
