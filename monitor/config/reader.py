"""Reading one TOML table with typed getters that name the file and key on every error."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from monitor.errors import ConfigError, MissingSecretError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

T = TypeVar("T")


def parse_duration(text: str) -> float:
    """Seconds in a duration like "15m", "20s", "1.5h", "500ms" or a bare number of seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 2h, 1d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


REQUIRED: Any = object()


class Table:
    """One TOML table being read: typed getters that name the key on error, then unknown keys."""

    def __init__(
        self, data: Any, where: str, file: Path, environ: Mapping[str, str] | None = None
    ) -> None:
        self.file = file
        self.where = where
        # Where `*_env` secrets are looked up: the process environment unless a caller (`check`)
        # passes its own, to see which variables were read.
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        if not isinstance(data, Mapping):
            raise self.error("", "must be a table")
        self.data: Mapping[str, Any] = data
        self.seen: set[str] = set()

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: {self.name(key)}: {problem}")

    def name(self, key: str) -> str:
        """The dotted name of `key` in this table, as messages give it."""
        return f"{self.where}.{key}" if self.where and key else (key or self.where)

    def missing_secret(self, key: str, variable: str) -> MissingSecretError:
        """The error for a `key` (ending in _env) whose environment variable is unset or empty."""
        message = f"{self.file}: {self.name(key)}: environment variable {variable} is not set"
        return MissingSecretError(message, key=self.name(key), variable=variable)

    def _get(self, key: str, kind: type[T] | tuple[type, ...], default: Any, label: str) -> Any:
        self.seen.add(key)
        if key not in self.data:
            if default is REQUIRED:
                raise self.error(key, "is required")
            return default
        value = self.data[key]
        # bool is an int subclass in Python; a TOML true must not pass as a number
        if isinstance(value, bool) and kind is not bool:
            raise self.error(key, f"must be {label}, got {value!r}")
        if not isinstance(value, kind):
            raise self.error(key, f"must be {label}, got {value!r}")
        return value

    def text(self, key: str, default: Any = REQUIRED) -> Any:
        value = self._get(key, str, default, "a string")
        if isinstance(value, str) and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def flag(self, key: str, default: bool) -> bool:
        return bool(self._get(key, bool, default, "true or false"))

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        value = float(self._get(key, (int, float), default, "a number"))
        if not lo <= value <= hi:
            raise self.error(key, f"must be between {lo:g} and {hi:g}, got {value:g}")
        return value

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = int(self._get(key, int, default, "a whole number"))
        if not lo <= value <= hi:
            raise self.error(key, f"must be between {lo} and {hi}, got {value}")
        return value

    def duration(self, key: str, default: str, lo: float = 0.001, hi: float = 7 * 86400) -> float:
        raw = self._get(key, (str, int, float), default, "a duration such as 30s or 15m")
        try:
            seconds = parse_duration(str(raw))
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        if not lo <= seconds <= hi:
            raise self.error(key, f"must be between {lo:g}s and {hi:g}s, got {raw!r}")
        return seconds

    def strings(self, key: str, default: Any = REQUIRED) -> tuple[str, ...]:
        value = self._get(key, list, default, "a list of strings")
        if not all(isinstance(item, str) and item.strip() for item in value):
            raise self.error(key, "must be a list of non-empty strings")
        return tuple(value)

    def secret(self, key: str) -> str | None:
        """A secret given inline as `key` or by environment variable name as `key_env`."""
        inline = self.text(key, None)
        env_name = self.text(f"{key}_env", None)
        if inline is not None and env_name is not None:
            raise self.error(key, f"give either {key} or {key}_env, not both")
        if env_name is None:
            return inline  # type: ignore[no-any-return]
        value = self.environ.get(env_name)
        if not value:
            raise self.missing_secret(f"{key}_env", env_name)
        return value

    def sub(self, key: str, required: bool = False) -> Table | None:
        self.seen.add(key)
        if key not in self.data:
            if required:
                raise self.error(key, "table is required")
            return None
        where = f"{self.where}.{key}" if self.where else key
        return Table(self.data[key], where, self.file, self.environ)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            known = ", ".join(sorted(self.seen))
            raise self.error(unknown[0], f"unknown key (known keys here: {known})")
