"""The pulse: what a monitored host asks check_echo to probe.

A pulse is the object ``pulse/<host>.json``: UTF-8 JSON (a leading BOM is
tolerated) holding an object with two string fields,
``{"url": "https://myhost.example.com/health", "body": "ok"}``. Other fields
are ignored, so hosts may add their own. Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pulse_echo import urls
from pulse_echo.text import JsonError, decode_json


class PulseError(ValueError):
    """The pulse is not a valid pulse; the message says why, for logs and failure records."""


@dataclass(frozen=True)
class Pulse:
    """A validated pulse.

    ``url`` is an absolute http(s) URL with a host; ``body`` is the exact text
    the URL must answer (compared byte for byte as UTF-8; no whitespace is
    stripped, so a body of ``"ok"`` does not match a response ``"ok\\n"``).
    An empty ``body`` is valid and means exactly that: the answer must be
    empty (a ``204 No Content`` health check), not "any body".
    Both are valid Unicode (no lone surrogates), so both encode to UTF-8.
    """

    url: str
    body: str


def parse_pulse(data: bytes) -> Pulse:
    """Parse and validate the bytes of a pulse object.

    Raises PulseError when the bytes are not UTF-8, not JSON (including JSON
    that Python refuses to build: nesting deeper than its recursion limit, an
    integer of more than 4,300 digits), not a JSON object, when ``url`` or
    ``body`` is missing, not a string or not valid Unicode (a ``\\ud800``
    escape decodes to a lone surrogate, which cannot be encoded to UTF-8), or
    when ``url`` is not valid (see validate_url).
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
        # too deep, or an integer over 4,300 digits
        raise PulseError(f"pulse is not valid JSON that can be read: {exc}") from None
    if not isinstance(document, dict):
        raise PulseError(f"pulse must be a JSON object, not {_json_type(document)}")
    for name in ("url", "body"):
        if name not in document:
            raise PulseError(f'pulse has no "{name}" field')
        if not isinstance(document[name], str):
            raise PulseError(f'pulse field "{name}" must be a string, not {_json_type(document[name])}')
        _require_unicode(name, document[name])
    return Pulse(url=validate_url(document["url"]), body=document["body"])


def validate_url(url: str) -> str:
    """Return ``url`` unchanged when it is an absolute http or https URL with a host.

    Rejected, with a PulseError saying why: other schemes (``file:``, ``ftp:``),
    relative URLs, URLs without a host, a port that is not a number in
    1-65535, credentials (``user:pass@``: urllib3 would not send them, and
    they would end up in logs and records), whitespace or control characters.
    """
    if not url:
        raise PulseError('pulse field "url" is empty')
    try:
        parts = urls.split_http_url(url)
    except urls.UrlError as exc:
        raise PulseError(_URL_PROBLEMS[exc.problem].format(url=url, detail=exc.detail)) from None
    if parts.username is not None or parts.password is not None:
        raise PulseError("url contains credentials (user:password@), which are not supported")
    return url


_URL_PROBLEMS = {
    urls.WHITESPACE: "url {url!r} contains whitespace or control characters",
    urls.INVALID: "url {url!r} is not a valid URL: {detail}",
    urls.NOT_ABSOLUTE: "url {url!r} is not absolute: it must start with http:// or https://",
    urls.SCHEME: "url {url!r} has scheme {detail!r}: only http and https are probed",
    urls.NO_HOST: "url {url!r} has no host",
    urls.PORT_ZERO: "url {url!r} has port 0",
}


def _require_unicode(name: str, value: str) -> None:
    """Raise PulseError when ``value`` holds a lone surrogate (JSON allows ``"\\ud800"``; UTF-8 does not).

    The message names the character by its escape, so that it can itself be
    encoded into a failure record and a log line.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PulseError(
            f'pulse field "{name}" is not valid Unicode: a lone surrogate '
            f"(\\u{ord(value[exc.start]):04x}) at character {exc.start}"
        ) from None


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
