"""The state document ``state/status.json``: its schema beside its codec.

Written by check_result after the webhook accepted a run's message, read by
the next run, by pulse-status and by pulse-forget. The bytes are a contract
between versions::

    {"schema": 1, "updated_at", "run_id", "stale_after_minutes",
     "hosts": {host: {"status": "down" | "new", "since", "last_ok_at", "notified_at"}},
     "pending_sns": [{"run_id", "created_at", "message", "subject"}],
     "pending_history": [<history event>]}

compact, hosts sorted, times ISO 8601 UTC with their sub-second part;
``pending_sns`` only when SNS messages are waiting (a document without it
reads as nothing pending), ``pending_history`` likewise for the history events
not written yet (history.py); ``stale_after_minutes`` the module's threshold (for
the tools; a document without it, from pulse-echo 0.1, has none recorded).
Fields are only ever added under schema 1: each version ignores the fields it
does not know, in both directions (tests/unit/test_state_compat.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pulse_echo.text import decode_document, encode_json
from pulse_echo.times import iso_exact, parse_isoformat, parse_optional_isoformat

from .history import HistoryEvent, HistoryFormatError, event_from_dict
from .model import STATUS_DOWN, STATUS_NEW

STATE_SCHEMA = 1
HOST_STATUSES = (STATUS_DOWN, STATUS_NEW)
"""The statuses a host can have in the state: a host plainly up is not stored."""

PENDING_SNS_MAX = 10
"""At most this many undelivered SNS messages are kept in the state document (the oldest
beyond it are dropped, logged as an error): a topic that stays broken cannot grow it."""


@dataclass(frozen=True)
class HostState:
    """The stored, notified status of one host that is not plainly up.

    ``status``: ``down`` (an alert was accepted at ``notified_at``) or ``new``
    (``notified_at`` is None). ``since``: start of the outage, i.e. the last
    successful check before it or, for a host that never succeeded, when it
    was first seen (its first observed failure or pulse). ``last_ok_at``: the
    last successful check known when the entry was written, None for never.
    """

    status: str
    since: datetime
    last_ok_at: datetime | None = None
    notified_at: datetime | None = None


@dataclass(frozen=True)
class PendingSns:
    """An alert the webhook accepted but SNS did not: kept in the state document
    (``pending_sns``) and published again by the next runs, oldest first.

    ``run_id`` and ``created_at``: the run that built it. ``message``: the SNS
    ``Message`` (the structured json alert, already bounded to SNS's 256 KiB);
    ``subject``: its SNS ``Subject``, None for none.
    """

    run_id: str
    created_at: datetime
    message: str
    subject: str | None = None


@dataclass(frozen=True)
class StateDocument:
    """A decoded state document: the hosts, the SNS messages still to publish and the history
    events still to write."""

    hosts: dict[str, HostState]
    pending_sns: tuple[PendingSns, ...] = ()
    stale_after_minutes: float | None = None
    pending_history: tuple[HistoryEvent, ...] = ()


class StateFormatError(ValueError):
    """The state document is not what encode_state writes."""


def encode_state(
    hosts: Mapping[str, HostState],
    *,
    updated_at: datetime,
    run_id: str,
    pending_sns: Sequence[PendingSns] = (),
    stale_after_minutes: float | None = None,
    pending_history: Sequence[HistoryEvent] = (),
) -> bytes:
    """Serialise the state (see the module docstring) as compact UTF-8 JSON.

    Times keep their sub-second part when they have one, so
    decode_state_document(encode_state(x, pending_sns=p, pending_history=h)) gives x, p and h back.
    """
    document: dict[str, object] = {
        "schema": STATE_SCHEMA,
        "updated_at": iso_exact(updated_at),
        "run_id": run_id,
    }
    if stale_after_minutes is not None:
        document["stale_after_minutes"] = stale_after_minutes
    document |= {
        "hosts": {
            host: {
                "status": entry.status,
                "since": iso_exact(entry.since),
                "last_ok_at": iso_exact(entry.last_ok_at),
                "notified_at": iso_exact(entry.notified_at),
            }
            for host, entry in sorted(hosts.items())
        },
    }
    if pending_sns:
        document["pending_sns"] = [
            {
                "run_id": item.run_id,
                "created_at": iso_exact(item.created_at),
                "message": item.message,
                "subject": item.subject,
            }
            for item in pending_sns
        ]
    if pending_history:
        document["pending_history"] = [event.to_dict() for event in pending_history]
    return encode_json(document)


def decode_state(data: bytes) -> dict[str, HostState]:
    """The hosts of a state document written by encode_state (see decode_state_document)."""
    return decode_state_document(data).hosts


def decode_state_document(data: bytes) -> StateDocument:
    """Parse a state document written by encode_state.

    Raises StateFormatError (and nothing else) when it is not valid UTF-8 JSON
    of that shape (nested too deeply or a 5,000-digit number included), has
    another schema version, or holds an unknown status, a bad time (one
    outside the years 1-9999 in UTC included) or a malformed ``pending_sns``.
    A document without ``pending_sns`` (every one written before it existed)
    has none pending; one without a valid ``stale_after_minutes`` (a number
    > 0) has no threshold recorded.
    """
    document, hosts = decode_hosts_document(data, STATE_SCHEMA, StateFormatError, "state")
    result = {}
    for host, entry in hosts.items():
        if not isinstance(entry, dict) or entry.get("status") not in HOST_STATUSES:
            raise StateFormatError(f"state entry for {host!r} has no valid status")
        try:
            since = parse_isoformat(entry["since"])
            last_ok_at = parse_optional_isoformat(entry.get("last_ok_at"))
            notified_at = parse_optional_isoformat(entry.get("notified_at"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # AttributeError: not a str
            raise StateFormatError(f"state entry for {host!r} has a bad time: {exc}") from None
        result[host] = HostState(
            status=entry["status"], since=since, last_ok_at=last_ok_at, notified_at=notified_at
        )
    minutes = document.get("stale_after_minutes")
    if not (isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and 0 < minutes < math.inf):
        minutes = None
    return StateDocument(
        hosts=result,
        pending_sns=_decode_pending_sns(document.get("pending_sns", [])),
        stale_after_minutes=minutes,
        pending_history=_decode_pending_history(document.get("pending_history", [])),
    )


def decode_hosts_document(
    data: bytes, schema: int, error: type[ValueError], what: str
) -> tuple[dict[str, object], dict[str, object]]:
    """``(document, its "hosts" object)`` of a document of ``state/``: UTF-8 JSON, an object
    with ``"schema": schema`` and a ``hosts`` object; raises ``error`` (naming ``what``)
    otherwise. The state, the pulse index and the pauses all start so."""
    document = decode_document(data, schema, error, what)
    hosts = document.get("hosts")
    if not isinstance(hosts, dict):
        raise error(f"{what} has no hosts object")
    return document, hosts


def _decode_pending_sns(items: object) -> tuple[PendingSns, ...]:
    if not isinstance(items, list):
        raise StateFormatError("state pending_sns is not a list")
    pending = []
    for index, item in enumerate(items):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("run_id"), str)
            and isinstance(item.get("message"), str)
            and isinstance(item.get("created_at"), str)
            and isinstance(item.get("subject"), (str, type(None)))
        ):
            raise StateFormatError(f"state pending_sns[{index}] is not a message")
        try:
            created_at = parse_isoformat(item["created_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise StateFormatError(f"state pending_sns[{index}] has a bad time: {exc}") from None
        pending.append(PendingSns(item["run_id"], created_at, item["message"], item.get("subject")))
    return tuple(pending)


def _decode_pending_history(items: object) -> tuple[HistoryEvent, ...]:
    if not isinstance(items, list):
        raise StateFormatError("state pending_history is not a list")
    try:
        return tuple(event_from_dict(item) for item in items)
    except HistoryFormatError as exc:
        raise StateFormatError(f"state pending_history: {exc}") from None
