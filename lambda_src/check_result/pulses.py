"""The pulse index ``state/pulses.json``: what each host's pulse asks, read only when it changed.

check_result must not read every pulse on every run (DESIGN §2b). The index
keeps, per host, the ETag of the pulse it was made from and what check_result
needs of it; a pulse whose listing ETag differs from the index (or that is
missing from it) is read again, at most PULSE_READS_PER_RUN a run, hosts
that would be due under the module's threshold first. The index is a cache:
losing it, or a document that does not parse, costs only re-reads. The bytes::

    {"schema": 1, "updated_at",
     "hosts": {host: {"etag", "kind", "stale_after_minutes"?, "pause_until"?,
                      "result"?, "message"?, "exit_code"?, "duration_seconds"?}}}

``kind`` is pulse_echo.pulse's (probe, heartbeat, job) or ``invalid`` (a
pulse that does not parse: the module's threshold applies, and check_echo's
``bad_pulse`` record says why). The job fields are kept for jobs only (for
pulse-status), ``message`` cut to its last INDEX_MESSAGE_CHARS characters.
Pure functions and the codec; the reads are check_result.store's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pulse_echo import settings
from pulse_echo.pulse import KIND_JOB, RESULT_FAIL, PulseError, parse_pulse
from pulse_echo.text import encode_json, tail_clip
from pulse_echo.times import iso_exact, isoformat, parse_isoformat

from .model import Observation, Profile
from .rules import is_stale
from .state import decode_hosts_document

INDEX_SCHEMA = 1
KIND_INVALID = "invalid"
"""The kind indexed for a pulse that does not parse."""
INDEX_MESSAGE_CHARS = 200
MAX_MINUTES = float(settings.STALE_AFTER.maximum)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PulseEntry:
    """One host's pulse as indexed: its ``etag`` and what check_result needs of it."""

    etag: str
    kind: str
    stale_after_minutes: float | None = None
    pause_until: datetime | None = None
    result: str | None = None
    message: str | None = None
    exit_code: int | None = None
    duration_seconds: float | None = None

    def said(self) -> tuple[object, ...]:
        """What the pulse says, without its ETag (two entries equal in this give one Profile)."""
        return (
            self.kind,
            self.stale_after_minutes,
            self.pause_until,
            self.result,
            self.message,
            self.exit_code,
            self.duration_seconds,
        )

    def profile(self, default: timedelta, operator_pause: datetime | None = None) -> Profile:
        """The Profile the rules take: this pulse's threshold (else ``default``), kind, job
        result and report, and the later of its pause and ``operator_pause``."""
        pauses = [moment for moment in (self.pause_until, operator_pause) if moment is not None]
        return Profile(
            stale_after=default
            if self.stale_after_minutes is None
            else timedelta(minutes=self.stale_after_minutes),
            kind=self.kind,
            job_failed=self.result == RESULT_FAIL,
            pause_until=max(pauses, default=None),
            message=self.message,
            exit_code=self.exit_code,
            duration_seconds=self.duration_seconds,
        )


@dataclass(frozen=True)
class PulseReading:
    """What a run learnt of the pulses (store.Store.read_profiles): each host's Profile, the next
    pulse ``index``, how many changed pulses it ``read`` and how many it left ``unread``."""

    profiles: dict[str, Profile]
    index: dict[str, PulseEntry]
    read: int
    unread: int


def index_entry(data: bytes | None, etag: str, now: datetime) -> PulseEntry:
    """Index the bytes of a pulse (None: over the size limit, not read): its fields, or kind
    ``invalid`` when parse_pulse refuses it (``now`` bounds ``pause_until``)."""
    try:
        if data is None:
            raise PulseError("pulse is over the size limit")
        pulse = parse_pulse(data, now=now)
    except PulseError:
        return PulseEntry(etag=etag, kind=KIND_INVALID)
    job = pulse.kind == KIND_JOB
    return PulseEntry(
        etag=etag,
        kind=pulse.kind,
        stale_after_minutes=pulse.stale_after_minutes,
        pause_until=pulse.pause_until,
        result=pulse.result,
        message=tail_clip(pulse.message, INDEX_MESSAGE_CHARS) if job and pulse.message else None,
        exit_code=pulse.exit_code if job else None,
        duration_seconds=pulse.duration_seconds if job else None,
    )


def would_be_due(observation: Observation, now: datetime, stale_after: timedelta) -> bool:
    """True when the host may be down under ``stale_after`` (the module's threshold): a
    failure newer than its echo, no echo, or a stale one. Its pulse is read first."""
    last_ok_at = observation.last_ok_at
    return observation.failing or last_ok_at is None or is_stale(last_ok_at, now, stale_after)


def pulses_to_read(
    observations: Mapping[str, Observation],
    index: Mapping[str, PulseEntry],
    now: datetime,
    stale_after: timedelta,
    limit: int | None = None,
) -> list[str]:
    """The hosts whose pulse changed since it was indexed (listing ETag differs, or not
    indexed), at most ``limit`` (None: all): those that would be due under the module's
    ``stale_after`` first, then by name."""
    changed = [
        host
        for host, observation in observations.items()
        if observation.pulse_etag is not None
        and (host not in index or index[host].etag != observation.pulse_etag)
    ]
    changed.sort(key=lambda host: (not would_be_due(observations[host], now, stale_after), host))
    return changed if limit is None else changed[: max(limit, 0)]


def refresh_index(
    index: Mapping[str, PulseEntry], observations: Mapping[str, Observation], read: Mapping[str, PulseEntry]
) -> dict[str, PulseEntry]:
    """The next index: the entries just ``read``, and the others kept while their host still has
    a pulse (a changed pulse not read yet keeps its old entry until its turn)."""
    kept = {
        host: entry
        for host, entry in index.items()
        if host not in read and host in observations and observations[host].pulse_etag is not None
    }
    return dict(sorted({**kept, **read}.items()))


def profiles(
    index: Mapping[str, PulseEntry],
    observations: Mapping[str, Observation],
    stale_after: timedelta,
    operator_pauses: Mapping[str, datetime],
) -> dict[str, Profile]:
    """Each host's Profile: from its index entry and its operator pause
    (pauses.Pauses.until_by_host). A host without an entry has the module's ``stale_after`` and
    no kind; when it has a pulse (not read yet: over PULSE_READS_PER_RUN) its Profile is
    ``pending``: its threshold is unknown, and no down alert is sent for it until its pulse is
    read (a nightly job must not be called down for a 15-minute silence). Hosts whose pulses
    say the same share one Profile (most of a fleet does: memory and time stay small at 50,000
    hosts)."""
    result, shared = {}, {}
    for host, observation in observations.items():
        entry, pause = index.get(host), operator_pauses.get(host)
        pending = entry is None and observation.pulse_etag is not None
        key = (pause, pending) if entry is None else (pause, *entry.said())
        profile = shared.get(key)
        if profile is None:
            profile = shared[key] = (
                Profile(stale_after=stale_after, pause_until=pause, pending=pending)
                if entry is None
                else entry.profile(stale_after, pause)
            )
        result[host] = profile
    return result


# --- the document ---


def encode_index(entries: Mapping[str, PulseEntry], *, updated_at: datetime) -> bytes:
    """The bytes of ``state/pulses.json`` (see the module docstring); absent fields left out."""
    hosts = {}
    for host, entry in sorted(entries.items()):
        fields: dict[str, object] = {"etag": entry.etag, "kind": entry.kind}
        optional = {
            "stale_after_minutes": entry.stale_after_minutes,
            "pause_until": iso_exact(entry.pause_until),
            "result": entry.result,
            "message": entry.message,
            "exit_code": entry.exit_code,
            "duration_seconds": entry.duration_seconds,
        }
        fields.update({name: value for name, value in optional.items() if value is not None})
        hosts[host] = fields
    return encode_json({"schema": INDEX_SCHEMA, "updated_at": isoformat(updated_at), "hosts": hosts})


class IndexFormatError(ValueError):
    """The document is not a pulse index this version can read (it is then rebuilt)."""


def decode_index(data: bytes) -> dict[str, PulseEntry]:
    """Read ``state/pulses.json``. An entry with a wrong type in any field is dropped (its pulse
    is read again); IndexFormatError when the document itself is not a schema-1 index."""
    _, hosts = decode_hosts_document(data, INDEX_SCHEMA, IndexFormatError, "pulse index")
    entries = {}
    for host, fields in hosts.items():
        entry = _entry(fields)
        if entry is not None:
            entries[host] = entry
    return entries


_TYPES = {
    "etag": str,
    "kind": str,
    "stale_after_minutes": (int, float),
    "pause_until": str,
    "result": str,
    "message": str,
    "exit_code": int,
    "duration_seconds": (int, float),
}


def _entry(fields: object) -> PulseEntry | None:
    if not isinstance(fields, dict) or not isinstance(fields.get("etag"), str):
        return None
    for name, value in fields.items():
        kind = _TYPES.get(name)
        if kind is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            return None
    if not isinstance(fields.get("kind"), str):
        return None
    minutes = fields.get("stale_after_minutes")
    if minutes is not None and not (0 < minutes <= MAX_MINUTES and timedelta(minutes=minutes)):
        return None  # also NaN; what parse_pulse accepts, nothing that would overflow a datetime
    try:
        pause_until = parse_isoformat(fields["pause_until"]) if fields.get("pause_until") else None
    except ValueError:
        return None
    return PulseEntry(
        etag=fields["etag"],
        kind=fields["kind"],
        stale_after_minutes=None if minutes is None else float(minutes),
        pause_until=pause_until,
        result=fields.get("result"),
        message=fields.get("message"),
        exit_code=fields.get("exit_code"),
        duration_seconds=fields.get("duration_seconds"),
    )
