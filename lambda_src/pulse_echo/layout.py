"""The S3 layout: every prefix and fixed key of the bucket, host <-> key, S3's naming limits.

A contract other people's code relies on (docs/DESIGN.md section 2): hosts
write ``pulse/<host>.json``; check_echo writes ``echo/<host>.json`` and
``failure/<host>.json``; check_result keeps its own records under
``state/`` and the history of status changes under ``history/``. Nothing
of ours is ever written under ``pulse/``: that would invoke check_echo
again. Standard library only.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

PULSE_PREFIX = "pulse/"
"""Pulses, written by monitored hosts only: ``pulse/<host>.json``."""

ECHO_PREFIX = "echo/"
"""Echoes, written by check_echo on a successful check: ``echo/<host>.json``."""

FAILURE_PREFIX = "failure/"
"""Last failed check of a host, written by check_echo: ``failure/<host>.json``."""

STATE_PREFIX = "state/"
"""check_result's own records (notified status, run lease, pulse index) and the operator's pauses."""

STATE_KEY = f"{STATE_PREFIX}status.json"
"""check_result's state document: the notified status of every host not plainly up."""

LEASE_KEY = f"{STATE_PREFIX}lock.json"
"""check_result's run lease (also taken by pulse-forget while it deletes)."""

PULSE_INDEX_KEY = f"{STATE_PREFIX}pulses.json"
"""check_result's pulse index: what each host's pulse asks (threshold, kind, pause, job result),
keyed by the pulse's ETag, so a pulse is read only when it changed. A cache: losing it costs re-reads."""

PAUSES_KEY = f"{STATE_PREFIX}pauses.json"
"""The operator's pauses (maintenance windows): written only by pulse-pause, read by check_result."""

HISTORY_PREFIX = "history/"
"""The history of status changes: append-only objects, one per check_result run that changed a
status (and one per pulse-pause command), ``history/YYYY/MM/DD/HHMMSSZ-<writer id>.json``
(history_key); expired by the bucket's lifecycle rule (``history_retention_days``)."""

KEY_SUFFIX = ".json"

S3_KEY_MAX_BYTES = 1024
"""S3 object keys are at most 1,024 bytes of UTF-8 (S3 user guide, "Naming Amazon S3 objects")."""

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


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


_WRITER_ID = re.compile(r"[^A-Za-z0-9_-]")


def history_key(moment: datetime, writer_id: str) -> str:
    """``history/YYYY/MM/DD/HHMMSSZ-<writer id>.json`` for a history object written at ``moment``
    (aware; its UTC date and time): keys sort by time, one day is one folder, and the writer id
    (a run id: characters other than letters, digits, ``-`` and ``_`` dropped, 100 at most) keeps
    two writers in the same second apart."""
    utc = moment.astimezone(timezone.utc)
    writer = _WRITER_ID.sub("", writer_id)[:100] or "run"
    return f"{HISTORY_PREFIX}{utc:%Y/%m/%d/%H%M%S}Z-{writer}{KEY_SUFFIX}"


def history_start_after(moment: datetime) -> str:
    """The ListObjectsV2 ``StartAfter`` that lists the history objects written at or after
    ``moment``'s UTC second (and a few of that second that sort before it: readers filter by
    time anyway)."""
    utc = moment.astimezone(timezone.utc)
    return f"{HISTORY_PREFIX}{utc:%Y/%m/%d/%H%M%S}"


def key_bytes(key: str) -> int:
    """Length of ``key`` in UTF-8 bytes, the unit of S3's key limit (lone surrogates count 3)."""
    return len(key.encode("utf-8", "surrogatepass"))


def key_fits(key: str) -> bool:
    """True when ``key`` is within S3's 1,024-byte key limit (S3_KEY_MAX_BYTES).

    ``pulse/<host>.json`` can fit while ``failure/<host>.json``, two bytes
    longer, does not: S3 refuses such a write with ``KeyTooLongError``.
    """
    return key_bytes(key) <= S3_KEY_MAX_BYTES


def failure_key_problem(host: str) -> str | None:
    """Why ``failure/<host>.json`` cannot be written (over S3's key limit), or None when it can.

    The one sentence check_echo logs and check_result shows for such a host.
    """
    key = key_for(FAILURE_PREFIX, host)
    if key_fits(key):
        return None
    return (
        f"{FAILURE_PREFIX}<host>.json would be {key_bytes(key)} bytes, "
        f"over S3's {S3_KEY_MAX_BYTES}-byte key limit (shorten the host name)"
    )


def is_valid_bucket_name(name: str) -> bool:
    """True for a valid S3 general purpose bucket name.

    AWS's rules: 3-63 characters of lowercase letters, digits, ``.`` and
    ``-``; starts and ends with a letter or digit; no ``..``; not formatted
    as an IPv4 address; not one of the reserved prefixes (``xn--``,
    ``sthree-``, ``amzn-s3-demo-``) or suffixes (``-s3alias``, ``--ol-s3``,
    ``.mrap``, ``--x-s3``, ``--table-s3``).
    """
    return (
        _BUCKET_NAME.fullmatch(name) is not None
        and ".." not in name
        and _IPV4.fullmatch(name) is None
        and not name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )
