"""Text from untrusted sources: clipped, on one line, quoted; JSON decoded without surprises.

Everything a host sends (names, bodies, job output) is untrusted wherever it
is shown. Standard library only.
"""

from __future__ import annotations

import json

DETAIL_CHARS = 200
EXCERPT_CHARS = 90
ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ``…`` marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def tail_clip(text: str, limit: int) -> str:
    """``text`` cut to its last ``limit`` characters at most, ``…`` marking a cut (a job's
    output: its end says most)."""
    return text if len(text) <= limit else ELLIPSIS + text[len(text) - limit + 1 :]


def counted(count: int, noun: str) -> str:
    """``1 host``, ``7 hosts``: a count with its noun, plural when it is not one."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _escaped(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def one_line(text: str, limit: int = DETAIL_CHARS) -> str:
    """Return ``text`` on one line (control characters escaped) and at most ``limit`` characters."""
    return clip(_escaped(text), limit)


def tail_line(text: str, limit: int = DETAIL_CHARS) -> str:
    """one_line, keeping the end: trailing whitespace dropped, control characters escaped, the
    last ``limit`` characters at most (a job's output)."""
    return tail_clip(_escaped(text.rstrip()), limit)


def quote_excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """Return an excerpt in double quotes, on one line and at most ``limit`` characters.

    check_echo writes excerpts already escaped (``\\n``, ``\\xNN``, ``…`` at a
    cut, about 80 characters); anything still unprintable is escaped here, so
    a received body can never break the line it is shown on, and a double
    quote inside is shown ``\\"`` (a JSON body stays readable). None gives
    ``(none)``.
    """
    if text is None:
        return "(none)"
    return '"' + one_line(text, limit).replace('"', '\\"') + '"'


class JsonError(ValueError):
    """Input that is not JSON Python can build; ``str()`` is a short reason, ``cause`` the original.

    Covers bytes that are not UTF-8, text that is not JSON, nesting deeper than
    Python's recursion limit and integers of more than 4,300 digits.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(
            "nested too deeply" if isinstance(cause, RecursionError) else str(cause).split(";")[0]
        )
        self.cause = cause


def decode_json(data: bytes | str, *, bom: bool = False) -> object:
    """Decode UTF-8 JSON (a leading BOM tolerated when ``bom``); raise JsonError and nothing else."""
    try:
        text = data.decode("utf-8-sig" if bom else "utf-8") if isinstance(data, bytes) else data
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise JsonError(exc) from None


def decode_document(data: bytes, schema: int, error: type[ValueError], what: str) -> dict[str, object]:
    """A document of ours: UTF-8 JSON, an object with ``"schema": schema``; raises ``error``
    (naming ``what``) and nothing else otherwise."""
    try:
        document = decode_json(data)
    except JsonError as exc:
        raise error(f"{what} is not UTF-8 JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != schema:
        raise error(f"{what} schema is not {schema}")
    return document


def encode_json(document: object) -> bytes:
    """Compact UTF-8 JSON, non-ASCII kept as is: the bytes written and sent."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
