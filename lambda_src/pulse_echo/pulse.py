"""The pulse, version 2: what a monitored host or job asks of pulse-echo (docs/DESIGN.md §2b).

A pulse is the object ``pulse/<host>.json``: UTF-8 JSON (a leading BOM is
tolerated) holding an object. Every field is optional; unknown fields are
ignored (hosts may add their own); a field set to JSON ``null`` counts as
absent. The original two-field pulse ``{"url": ..., "body": ...}`` keeps its
exact meaning.

=====================  ==========================================================
field                  rule
=====================  ==========================================================
``url``                an absolute http(s) URL with a host (validate_url); absent:
                       a heartbeat, nothing is probed, the upload is the success
``body``               string: the answer must equal it exactly
``contains``           string or non-empty list of non-empty strings: the answer
                       must contain each
``status``             integer 100-599 or a non-empty list of them: the accepted
                       statuses (default: any 2xx)
``max_response_ms``    integer 1-900,000: a slower answer fails (reason ``slow``)
``stale_after_minutes``  number > 0, at most a year: this host's own threshold
``result``             ``"ok"`` or ``"fail"``: ``"fail"`` is the job's own failure
                       (never probed, down at the next check_result run)
``message``            string: the job's own words (shown clipped and escaped)
``exit_code``          integer (-2^31 .. 2^32-1)
``duration_seconds``   number >= 0
``pause_until``        ISO 8601 time with an offset (``Z``): no down alert until
                       then; at most 7 days after ``now``; a past one is no pause
=====================  ==========================================================

Without ``url`` the probe fields (``body``, ``contains``, ``status``,
``max_response_ms``) make the pulse invalid. Strings must be valid Unicode
(JSON allows a lone surrogate such as ``"\\ud800"``; UTF-8 does not), numbers
finite (Python's json reads ``NaN`` and ``1e999``), and ``true``/``false`` are
not numbers. Every PulseError names the field at fault (``field``), so a
``bad_pulse`` failure record says which one.

Standard library only; used by check_echo (to check), check_result (each
host's threshold, pause and kind) and the operator tools.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import settings, urls
from .text import JsonError, decode_json
from .times import isoformat, parse_isoformat, utcnow

KIND_PROBE = "probe"
KIND_HEARTBEAT = "heartbeat"
KIND_JOB = "job"
KINDS = (KIND_PROBE, KIND_HEARTBEAT, KIND_JOB)
"""What a pulse asks for: a URL probed, the upload alone (heartbeat), or a job's own result."""

RESULT_OK = "ok"
RESULT_FAIL = "fail"
RESULTS = (RESULT_OK, RESULT_FAIL)

PROBE_FIELDS = ("body", "contains", "status", "max_response_ms")
"""Fields that only make sense with a ``url``."""

PAUSE_MAX_AHEAD = timedelta(days=7)
"""A host may announce a pause of at most this long (DESIGN §2b)."""
MAX_RESPONSE_MS_MAX = 900_000
"""A Lambda invocation lasts at most 15 minutes: a slower bound could never be reached."""
EXIT_CODE_MIN, EXIT_CODE_MAX = -(2**31), 2**32 - 1
STATUS_MIN, STATUS_MAX = 100, 599


class PulseError(ValueError):
    """The pulse is not a valid pulse. ``str()`` says why, for logs and failure records;
    ``field`` names the field at fault (None when the whole document is wrong)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Pulse:
    """A validated pulse (see the module docstring for each field's rule).

    ``body``: the exact text the URL must answer, compared as UTF-8 with no
    whitespace stripped (``"ok"`` does not match ``"ok\\n"``); an empty body
    means exactly that (a ``204 No Content`` health check). ``status`` empty:
    any 2xx. ``result`` None: the pulse did not say (the same as ``"ok"``).
    ``pause_until`` is an aware UTC datetime.
    """

    url: str | None = None
    body: str | None = None
    contains: tuple[str, ...] = ()
    status: tuple[int, ...] = ()
    max_response_ms: int | None = None
    stale_after_minutes: float | None = None
    result: str | None = None
    message: str | None = None
    exit_code: int | None = None
    duration_seconds: float | None = None
    pause_until: datetime | None = None

    @property
    def kind(self) -> str:
        """``job`` (it reports a result, an exit code or a duration), else ``probe`` (it has a
        URL), else ``heartbeat``."""
        if self.result is not None or self.exit_code is not None or self.duration_seconds is not None:
            return KIND_JOB
        return KIND_PROBE if self.url is not None else KIND_HEARTBEAT

    @property
    def failed(self) -> bool:
        """True when the job reports its own failure (``"result": "fail"``): never probed."""
        return self.result == RESULT_FAIL

    @property
    def probes(self) -> bool:
        """True when check_echo must probe the URL: there is one and the job did not fail."""
        return self.url is not None and not self.failed

    def accepts_status(self, status: int) -> bool:
        """True when ``status`` is accepted: one of ``status``, or any 2xx when none is given."""
        return status in self.status if self.status else 200 <= status <= 299

    def threshold(self, default: timedelta) -> timedelta:
        """This host's threshold: its own ``stale_after_minutes``, else ``default`` (the module's)."""
        if self.stale_after_minutes is None:
            return default
        return timedelta(minutes=self.stale_after_minutes)

    def paused_at(self, now: datetime) -> bool:
        """True while the host's announced pause lasts (``now`` before ``pause_until``)."""
        return self.pause_until is not None and now < self.pause_until


def parse_pulse(data: bytes, *, now: datetime | None = None) -> Pulse:
    """Parse and validate the bytes of a pulse object; ``now`` (aware UTC, default the current
    time) bounds ``pause_until``.

    Raises PulseError (with ``field``) when the bytes are not UTF-8, not JSON
    Python can build (nested too deeply, an integer of more than 4,300
    digits), not a JSON object, or when any field breaks its rule.
    """
    try:
        document = decode_json(data, bom=True)
    except JsonError as exc:
        cause = exc.cause
        if isinstance(cause, UnicodeDecodeError):
            raise PulseError(f"pulse is not UTF-8: invalid byte at offset {cause.start}") from None
        if isinstance(cause, json.JSONDecodeError):
            raise PulseError(
                f"pulse is not valid JSON: {cause.msg} at line {cause.lineno} column {cause.colno}"
            ) from None
        raise PulseError(f"pulse is not valid JSON that can be read: {exc}") from None
    if not isinstance(document, dict):
        raise PulseError(f"pulse must be a JSON object, not {_json_type(document)}")
    given = {name: value for name, value in document.items() if name in _FIELDS and value is not None}
    url = given.get("url")
    if url is None:
        for name in PROBE_FIELDS:
            if name in given:
                raise PulseError(f'pulse field "{name}" needs a "url" to probe (this pulse has none)', name)
    values = {name: _FIELDS[name](name, value) for name, value in given.items()}
    pause_until = values.get("pause_until")
    if pause_until is not None:
        moment = now or utcnow()
        if pause_until - moment > PAUSE_MAX_AHEAD:
            raise PulseError(
                f'pulse field "pause_until" ({isoformat(pause_until)}) is more than '
                f"{PAUSE_MAX_AHEAD.days} days ahead",
                "pause_until",
            )
    return Pulse(**values)


def validate_url(url: str) -> str:
    """Return ``url`` unchanged when it is an absolute http or https URL with a host.

    Rejected, with a PulseError (field ``url``) saying why: other schemes
    (``file:``, ``ftp:``), relative URLs, URLs without a host, a port that is
    not a number in 1-65535, credentials (``user:pass@``: urllib3 would not
    send them, and they would end up in logs and records), whitespace or
    control characters.
    """
    if not url:
        raise PulseError('pulse field "url" is empty', "url")
    try:
        parts = urls.split_http_url(url)
    except urls.UrlError as exc:
        raise PulseError(_URL_PROBLEMS[exc.problem].format(url=url, detail=exc.detail), "url") from None
    if parts.username is not None or parts.password is not None:
        raise PulseError("url contains credentials (user:password@), which are not supported", "url")
    return url


_URL_PROBLEMS = {
    urls.WHITESPACE: "url {url!r} contains whitespace or control characters",
    urls.INVALID: "url {url!r} is not a valid URL: {detail}",
    urls.NOT_ABSOLUTE: "url {url!r} is not absolute: it must start with http:// or https://",
    urls.SCHEME: "url {url!r} has scheme {detail!r}: only http and https are probed",
    urls.NO_HOST: "url {url!r} has no host",
    urls.PORT_ZERO: "url {url!r} has port 0",
}


# --- one reader per field: (name, JSON value) -> the Pulse's value, or PulseError ---


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise PulseError(f'pulse field "{name}" must be a string, not {_json_type(value)}', name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PulseError(
            f'pulse field "{name}" is not valid Unicode: a lone surrogate '
            f"(\\u{ord(value[exc.start]):04x}) at character {exc.start}",
            name,
        ) from None
    return value


def _url(name: str, value: Any) -> str:
    return validate_url(_string(name, value))


def _strings(name: str, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PulseError(f'pulse field "{name}" is an empty list', name)
    if not all(isinstance(item, str) for item in items):
        raise PulseError(f'pulse field "{name}" must be a string or a list of strings', name)
    for item in items:
        if not _string(name, item):
            raise PulseError(f'pulse field "{name}" holds an empty string', name)
    return tuple(items)


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if not _is_number(value) or not isinstance(value, int) or not low <= value <= high:
        raise PulseError(
            f'pulse field "{name}" must be an integer from {low:,} to {high:,}, not {_shown(value)}', name
        )
    return value


def _statuses(name: str, value: Any) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PulseError(f'pulse field "{name}" is an empty list', name)
    if not all(_is_status(item) for item in items):
        raise PulseError(
            f'pulse field "{name}" must be an HTTP status ({STATUS_MIN}-{STATUS_MAX}) or a list of them, '
            f"not {_shown(value)}",
            name,
        )
    return tuple(items)


def _max_response_ms(name: str, value: Any) -> int:
    return _integer(name, value, 1, MAX_RESPONSE_MS_MAX)


def _stale_after_minutes(name: str, value: Any) -> float:
    maximum = settings.STALE_AFTER.maximum
    if not _is_number(value) or not 0 < value <= maximum or timedelta(minutes=value) <= timedelta(0):
        raise PulseError(
            f'pulse field "{name}" must be a number of minutes above 0 and at most {maximum:,g}, '
            f"not {_shown(value)}",
            name,
        )
    return float(value)


def _result(name: str, value: Any) -> str:
    if value not in RESULTS:
        raise PulseError(f'pulse field "{name}" must be "ok" or "fail", not {_shown(value)}', name)
    return value


def _exit_code(name: str, value: Any) -> int:
    return _integer(name, value, EXIT_CODE_MIN, EXIT_CODE_MAX)


def _duration_seconds(name: str, value: Any) -> float:
    if not _is_number(value) or value < 0:
        raise PulseError(f'pulse field "{name}" must be a number of seconds >= 0, not {_shown(value)}', name)
    return float(value)


def _pause_until(name: str, value: Any) -> datetime:
    text = _string(name, value)
    try:
        return parse_isoformat(text)
    except ValueError:
        raise PulseError(
            f'pulse field "{name}" must be an ISO 8601 time with an offset, such as '
            f'"2026-01-01T10:00:00Z", not {_shown(value)}',
            name,
        ) from None


_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "url": _url,
    "body": _string,
    "contains": _strings,
    "status": _statuses,
    "max_response_ms": _max_response_ms,
    "stale_after_minutes": _stale_after_minutes,
    "result": _result,
    "message": _string,
    "exit_code": _exit_code,
    "duration_seconds": _duration_seconds,
    "pause_until": _pause_until,
}


def _is_status(value: Any) -> bool:
    return _is_number(value) and isinstance(value, int) and STATUS_MIN <= value <= STATUS_MAX


def _is_number(value: Any) -> bool:
    """A finite JSON number (``true``/``false`` are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value: Any) -> str:
    """A value for an error message: short, on one line, its JSON type when it is long."""
    finite = not isinstance(value, float) or math.isfinite(value)
    text = json.dumps(value, ensure_ascii=True) if finite else str(value)
    return text if len(text) <= 40 else _json_type(value)


def _json_type(value: object) -> str:
    """Name the JSON type of a decoded value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
