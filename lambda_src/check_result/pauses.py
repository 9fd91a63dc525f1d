"""The operator's pauses ``state/pauses.json`` (maintenance windows): schema beside codec.

Written only by pulse-pause (with conditional writes, so two operators, or an
operator and a check_result run, lose nothing), read by check_result and
pulse-status. A paused host gets no down or still_down alert (rules.py). The
bytes::

    {"schema": 1, "updated_at",
     "all": {"until", "paused_at"},                      (only while every host is paused)
     "hosts": {host: {"until", "paused_at"}}}

Times are ISO 8601 UTC. A pause that has ended means nothing and is dropped at
the next write. A document that does not parse is no pause at all: an alert
too many is better than a silenced fleet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from pulse_echo.text import encode_json
from pulse_echo.times import isoformat, parse_isoformat

from .state import decode_hosts_document

PAUSES_SCHEMA = 1


@dataclass(frozen=True)
class Pause:
    """One pause: it lasts until ``until`` (exclusive); ``paused_at`` is when it was set."""

    until: datetime
    paused_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return now < self.until


@dataclass(frozen=True)
class Pauses:
    """Every operator pause: per host, and ``every_host`` (``--all``), None when there is none."""

    hosts: dict[str, Pause] = field(default_factory=dict)
    every_host: Pause | None = None

    def until(self, host: str, now: datetime) -> datetime | None:
        """When ``host``'s pause ends (the later of its own and the pause of every host), or None
        when it is not paused at ``now``."""
        ends = [p.until for p in (self.hosts.get(host), self.every_host) if p is not None and p.active(now)]
        return max(ends, default=None)

    def until_by_host(self, hosts: Iterable[str], now: datetime) -> dict[str, datetime]:
        """``{host: end of its pause}`` for the paused ones among ``hosts``."""
        if not self.hosts and self.every_host is None:
            return {}
        ends = {host: self.until(host, now) for host in hosts}
        return {host: end for host, end in ends.items() if end is not None}

    def active(self, now: datetime) -> Pauses:
        """The pauses still running at ``now`` (ended ones dropped)."""
        every = self.every_host if self.every_host is not None and self.every_host.active(now) else None
        return Pauses({h: p for h, p in self.hosts.items() if p.active(now)}, every)

    def paused(self, hosts: Iterable[str] | None, until: datetime, now: datetime) -> Pauses:
        """These pauses plus one of ``hosts`` (None: every host) until ``until``; a running pause
        of the same host is replaced (shortened or lengthened)."""
        pause = Pause(until=until, paused_at=now)
        current = self.active(now)
        if hosts is None:
            return replace(current, every_host=pause)
        return replace(current, hosts={**current.hosts, **dict.fromkeys(hosts, pause)})

    def resumed(self, hosts: Iterable[str] | None, now: datetime) -> Pauses:
        """These pauses without those of ``hosts`` (None: every pause, of every host)."""
        if hosts is None:
            return Pauses()
        current, gone = self.active(now), set(hosts)
        return replace(current, hosts={h: p for h, p in current.hosts.items() if h not in gone})


class PausesFormatError(ValueError):
    """The document is not what encode_pauses writes."""


def encode_pauses(pauses: Pauses, *, updated_at: datetime) -> bytes:
    """The bytes of ``state/pauses.json`` (see the module docstring), hosts sorted."""

    def one(pause: Pause) -> dict[str, object]:
        return {"until": isoformat(pause.until), "paused_at": pause.paused_at and isoformat(pause.paused_at)}

    document: dict[str, object] = {"schema": PAUSES_SCHEMA, "updated_at": isoformat(updated_at)}
    if pauses.every_host is not None:
        document["all"] = one(pauses.every_host)
    document["hosts"] = {host: one(pause) for host, pause in sorted(pauses.hosts.items())}
    return encode_json(document)


def decode_pauses(data: bytes) -> Pauses:
    """Read ``state/pauses.json``; PausesFormatError (and nothing else) when it is not a
    schema-1 document of that shape."""
    document, hosts = decode_hosts_document(data, PAUSES_SCHEMA, PausesFormatError, "pauses document")
    every = document.get("all")
    return Pauses(
        hosts={host: _pause(fields, host) for host, fields in hosts.items()},
        every_host=None if every is None else _pause(every, "all"),
    )


def _pause(fields: object, name: str) -> Pause:
    try:
        until = parse_isoformat(fields["until"])  # type: ignore[index]
        paused_at = fields.get("paused_at")  # type: ignore[union-attr]
        return Pause(until=until, paused_at=None if paused_at is None else parse_isoformat(paused_at))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # AttributeError: not a str
        raise PausesFormatError(f"pause of {name!r} is not {{'until': ISO 8601 time}}: {exc}") from None
