"""http(s) URL validation, one rule set for the pulse's URL, a redirect's target and the webhook URL.

Standard library only.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

SCHEMES = ("http", "https")

# UrlError.problem
WHITESPACE = "whitespace"
INVALID = "invalid"
NOT_ABSOLUTE = "not_absolute"
SCHEME = "scheme"
NO_HOST = "no_host"
PORT_ZERO = "port_zero"


class UrlError(ValueError):
    """A URL that is not an absolute http(s) URL with a host: ``problem`` is one of the codes
    above, ``detail`` what urllib said for INVALID, the scheme for SCHEME. The message never
    holds the URL (a webhook URL is a secret): callers word their own."""

    def __init__(self, problem: str, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else problem)
        self.problem = problem
        self.detail = detail


def has_control_characters(url: str) -> bool:
    """True when ``url`` holds whitespace or a control character (a header injection, a typo)."""
    return any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in url)


def split_http_url(url: str, *, check_characters: bool = True) -> SplitResult:
    """The parts of ``url`` when it is an absolute http or https URL with a host and a port (if
    any) in 1-65535; UrlError otherwise, checked in this order: whitespace or control
    characters (unless ``check_characters`` is False: a redirect's Location is sent as the
    server wrote it), a URL urllib cannot split or a port that is no number in 0-65535, no
    scheme, a scheme other than http(s), no host, port 0. Credentials (``user:password@``)
    are the caller's to refuse or use."""
    if check_characters and has_control_characters(url):
        raise UrlError(WHITESPACE)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlError(INVALID, str(exc)) from None
    if not parts.scheme:
        raise UrlError(NOT_ABSOLUTE)
    if parts.scheme.lower() not in SCHEMES:
        raise UrlError(SCHEME, parts.scheme)
    if not parts.hostname:
        raise UrlError(NO_HOST)
    if port == 0:
        raise UrlError(PORT_ZERO)
    return parts


def url_host(url: str) -> str:
    """The host (and port, if any) of ``url``: the only part of a webhook URL that may be logged."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "?"
