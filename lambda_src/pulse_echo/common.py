"""Pieces shared by both functions: the S3 layout, configuration, JSON logs, time.

Only the standard library is imported here, so this module costs nothing at
cold start and is safe to import from the host-side scripts too.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

# --- S3 layout (docs/DESIGN.md section 2; a contract other people's code relies on) ---

PULSE_PREFIX = "pulse/"
"""Pulses, written by monitored hosts only: ``pulse/<host>.json``."""

ECHO_PREFIX = "echo/"
"""Echoes, written by check_echo on a successful check: ``echo/<host>.json``."""

FAILURE_PREFIX = "failure/"
"""Last failed check of a host, written by check_echo: ``failure/<host>.json``."""

STATE_PREFIX = "state/"
"""check_result's own records (notified status, run lease)."""

KEY_SUFFIX = ".json"

S3_KEY_MAX_BYTES = 1024
"""S3 object keys are at most 1,024 bytes of UTF-8 (S3 user guide, "Naming Amazon S3 objects")."""


def host_from_key(key: str, prefix: str) -> str | None:
    """Return ``<host>`` for ``<prefix><host>.json``, or None for any other key.

    ``key`` must already be decoded (S3 event keys are URL-encoded; decode them
    once with ``urllib.parse.unquote_plus`` before calling this). The host may
    contain ``/``, spaces, ``+``, ``%`` and non-ASCII characters; it is never
    empty.
    """
    if not key.startswith(prefix) or not key.endswith(KEY_SUFFIX):
        return None
    host = key[len(prefix) : -len(KEY_SUFFIX)]
    return host or None


def key_for(prefix: str, host: str) -> str:
    """Return the object key ``<prefix><host>.json`` (inverse of host_from_key)."""
    return f"{prefix}{host}{KEY_SUFFIX}"


def key_bytes(key: str) -> int:
    """Length of ``key`` in UTF-8 bytes, the unit of S3's key limit (lone surrogates count 3)."""
    return len(key.encode("utf-8", "surrogatepass"))


def key_fits(key: str) -> bool:
    """True when ``key`` is within S3's 1,024-byte key limit (S3_KEY_MAX_BYTES).

    ``pulse/<host>.json`` can fit while ``failure/<host>.json``, two bytes
    longer, does not: S3 refuses such a write with ``KeyTooLongError``.
    """
    return key_bytes(key) <= S3_KEY_MAX_BYTES


# --- configuration ---


class ConfigError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


def env_str(name: str, default: str | None = None) -> str | None:
    """Return environment variable ``name`` stripped, or ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value if value else default


def env_required(name: str) -> str:
    """Return environment variable ``name``; raise ConfigError when unset or empty."""
    value = env_str(name)
    if value is None:
        raise ConfigError(f"environment variable {name} is required")
    return value


def env_float(
    name: str,
    default: float,
    *,
    minimum: float = 0.0,
    allow_equal: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``name`` as a float greater than ``minimum`` (or equal, if ``allow_equal``)
    and, when ``maximum`` is given, at most ``maximum``.

    Raises ConfigError naming the variable when the value is not a finite number
    in range.
    """
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"environment variable {name}={raw!r} is not a finite number")
    if value < minimum or (value == minimum and not allow_equal):
        bound = ">=" if allow_equal else ">"
        raise ConfigError(f"environment variable {name}={raw!r} must be {bound} {minimum:g}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"environment variable {name}={raw!r} must be at most {maximum:g}")
    return value


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """Return ``name`` as an integer >= ``minimum``; raise ConfigError naming it otherwise."""
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"environment variable {name}={raw!r} must be >= {minimum}")
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return ``name`` as a boolean (true/false, 1/0, yes/no; any case)."""
    raw = env_str(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ConfigError(f"environment variable {name}={raw!r} must be true or false")


# --- JSON input ---


def json_error(exc: BaseException) -> str:
    """A short description of why json.loads failed (a RecursionError's message is misleading)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).split(";")[0]


# --- time (timezone-aware UTC everywhere) ---


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


def isoformat(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with a ``Z`` suffix, second precision.

    Raises ValueError for a naive datetime (it would be ambiguous).
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pulse-echo uses timezone-aware UTC only")
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_isoformat(text: str) -> datetime:
    """Parse ISO 8601 (``Z`` or an offset) into an aware UTC datetime.

    Raises ValueError when the text is not ISO 8601, carries no offset, or
    falls outside the years 1-9999 once converted to UTC (``0001-01-01T00:00:00+01:00``).
    """
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"timestamp {text!r} is out of range in UTC") from None


def format_duration(seconds: float) -> str:
    """Render a non-negative duration in seconds as ``1d 2h``, ``3h 4m``, ``5m 6s`` or ``7s``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


# --- logging: one JSON object per line, stable keys ---


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: ``level``, ``logger``, ``message`` plus ``fields``.

    Extra fields are passed as ``logger.info("...", extra={"fields": {...}})``;
    use log() below rather than building that by hand.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if fields:
            payload.update(fields)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False, sort_keys=False)


def get_logger(name: str) -> logging.Logger:
    """Return a logger that writes JSON lines to stderr, independent of the root logger.

    The Lambda runtime installs its own handler on the root logger; this logger
    does not propagate to it, so each line is exactly one JSON object. The level
    comes from ``LOG_LEVEL`` (default INFO).
    """
    logger = logging.getLogger(name)
    if not getattr(logger, "_pulse_echo_configured", False):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
        level = (env_str("LOG_LEVEL", "INFO") or "INFO").upper()
        logger.setLevel(level if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO")
        logger._pulse_echo_configured = True  # type: ignore[attr-defined]
    return logger


def log(logger: logging.Logger, level: int, message: str, **fields: object) -> None:
    """Write one JSON log line with ``message`` and the given stable keys (``host``, ``outcome``...)."""
    logger.log(level, message, extra={"fields": fields})
