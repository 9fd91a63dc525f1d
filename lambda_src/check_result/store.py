"""S3 access for check_result (and the operator tools): listings, records, pulses, the state
document, the pulse index, the operator's pauses and the run lease.

Cost per run (DESIGN §2b): one ListObjectsV2 page per 1,000 keys of each
listed prefix, a constant handful of requests for the state, the pulse index,
the pauses and the lease, one GET per changed pulse (bounded), and one GET per
record a message quotes. Nothing here reads one object per host on every run.

Conditional writes (bucket.py) follow the S3 user guide; ``If-Match`` on a
key that is gone is ``404 NoSuchKey``, and DeleteObject accepts ``If-Match``
on general purpose buckets since September 2025 ("How to perform conditional
deletes").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pulse_echo import aws, reasons, settings
from pulse_echo.layout import (
    ECHO_PREFIX,
    FAILURE_PREFIX,
    LEASE_KEY,
    PAUSES_KEY,
    PULSE_INDEX_KEY,
    PULSE_PREFIX,
    STATE_KEY,
    host_from_key,
    key_for,
)
from pulse_echo.logs import log
from pulse_echo.records import (
    ECHO_RECORD_MAX_BYTES,
    FAILURE_RECORD_MAX_BYTES,
    EchoRecord,
    FailureRecord,
    parse_echo_record,
    parse_failure_record,
)
from pulse_echo.text import JsonError, decode_json
from pulse_echo.times import isoformat, parse_isoformat

from .bucket import Bucket, StateConflictError, Stored
from .history import HistoryEvent
from .model import Observation, observations_from_listings
from .pauses import Pauses, PausesFormatError, decode_pauses, encode_pauses
from .pulses import (
    IndexFormatError,
    PulseEntry,
    PulseReading,
    decode_index,
    encode_index,
    index_entry,
    profiles,
    pulses_to_read,
    refresh_index,
)
from .state import (
    HostState,
    PendingSns,
    StateDocument,
    StateFormatError,
    decode_state_document,
    encode_state,
)

__all__ = ["LEASE_KEY", "STATE_KEY", "Lease", "StateConflictError", "Store", "Stored", "StoredState"]

PAGE_SIZE = 1000
LEASE_MAX_BYTES = 4096
LEASE_MAX = timedelta(seconds=settings.RUN_LEASE.maximum)  # type: ignore[arg-type]
"""No lease is honoured for longer than this (a day) after it was taken, whatever ``expires_at``
it claims (check_result's RUN_LEASE_SECONDS is at most this too)."""

STATE_MAX_BYTES = 64 * 1024 * 1024
"""The largest state document, pulse index or pauses document read (each is logged and read as
empty beyond it)."""


@dataclass(frozen=True)
class StoredState:
    """The state document as read: ``hosts``, the ETag to write it back (None: absent) and
    ``pending_sns``, the alerts SNS has not accepted yet (oldest first).

    ``unreadable`` is True when a document exists but did not parse or was
    over STATE_MAX_BYTES (``hosts`` and ``pending_sns`` are then empty): it
    should be rewritten.
    """

    hosts: dict[str, HostState]
    etag: str | None
    unreadable: bool = False
    pending_sns: tuple[PendingSns, ...] = ()
    stale_after_minutes: float | None = None
    """The module's threshold, as the run that wrote the document had it (None: not recorded)."""
    pending_history: tuple[HistoryEvent, ...] = ()
    """The history events earlier runs could not write yet (history.py), oldest first."""


@dataclass(frozen=True)
class Lease:
    """A run lease this run holds (``state/lock.json``): its ETag proves ownership."""

    run_id: str
    etag: str
    acquired_at: datetime
    expires_at: datetime


class Store(Bucket):
    """check_result's view of the bucket, through one boto3 S3 client (bucket.Bucket: bounded
    reads, conditional writes, the request count).

    ``requests`` counts the S3 API calls made through this object (one per
    listing page), for the run summary. Errors other than the documented
    conflicts are botocore's ClientError, raised as is.
    """

    # --- listings ---

    def list_hosts(self, prefix: str, *, etags: dict[str, str] | None = None) -> dict[str, datetime]:
        """List ``<prefix><host>.json`` into ``{host: LastModified (aware UTC)}`` (and each
        one's ETag into ``etags``, when given).

        Uses the ListObjectsV2 paginator, 1,000 keys a page. Keys come from
        botocore already decoded (it asks for ``EncodingType=url`` and decodes
        them), so they are not decoded again: a ``%`` or ``+`` in a host name is
        kept. Keys that are not ``<prefix><host>.json`` (a folder marker, a
        stray file) are skipped and counted in one log line.
        """
        paginator = self.s3.get_paginator("list_objects_v2")
        hosts: dict[str, datetime] = {}
        skipped = 0
        examples: list[str] = []
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            self._count()
            for item in page.get("Contents", ()):
                host = host_from_key(item["Key"], prefix)
                if host is None:
                    skipped += 1
                    if len(examples) < 3:
                        examples.append(item["Key"])
                    continue
                hosts[host] = item["LastModified"].astimezone(timezone.utc)
                if etags is not None:
                    etags[host] = item.get("ETag", "")
        if skipped:
            log(
                self.logger,
                logging.WARNING,
                "skipped keys that are not <prefix><host>.json",
                prefix=prefix,
                outcome="skipped_keys",
                count=skipped,
                examples=examples,
            )
        return hosts

    def list_observations(self) -> dict[str, Observation]:
        """List ``echo/``, ``pulse/`` (with the pulses' ETags) and ``failure/`` and join them per
        host (see model.py). The three listings are independent: they run at once, each
        paging on its own, so a run waits for S3 about once per page of the longest one."""
        etags: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=3) as pool:
            echoes = pool.submit(self.list_hosts, ECHO_PREFIX)
            pulses = pool.submit(self.list_hosts, PULSE_PREFIX, etags=etags)
            failures = pool.submit(self.list_hosts, FAILURE_PREFIX)
            return observations_from_listings(
                echoes=echoes.result(),
                pulses=pulses.result(),
                failures=failures.result(),
                pulse_etags=etags,
            )

    def observe(self, hosts: Iterable[str]) -> dict[str, Observation]:
        """What a deadline check knows of ``hosts`` (the caller bounds them): a HEAD of each
        one's ``echo/``, ``pulse/`` and ``failure/`` object, PARALLEL_READS at a time, as
        list_observations would have found them. A host with neither a pulse nor an echo is
        retired (Observation.retired)."""
        prefixes = (ECHO_PREFIX, PULSE_PREFIX, FAILURE_PREFIX)
        wanted = list(dict.fromkeys(hosts))
        found = self._head_many([key_for(prefix, host) for host in wanted for prefix in prefixes])
        observations = {}
        for host in wanted:
            echo, pulse, failure = (found[key_for(prefix, host)] for prefix in prefixes)
            observations[host] = Observation(
                host=host,
                last_ok_at=echo[0] if echo else None,
                last_failed_at=failure[0] if failure else None,
                pulse_at=pulse[0] if pulse else None,
                pulse_etag=pulse[1] if pulse else None,
            )
        return observations

    # --- pulses ---

    def read_pulses(self, hosts: Iterable[str], *, now: datetime, max_bytes: int) -> dict[str, PulseEntry]:
        """GET ``pulse/<host>.json`` for each host (the caller bounds them) and index it
        (pulses.index_entry, with the ETag of what was read): a pulse over ``max_bytes`` is not
        read and, like one that does not parse, is indexed ``invalid``; one deleted meanwhile is
        left out. The reads run PARALLEL_READS at a time."""
        keys = {host: key_for(PULSE_PREFIX, host) for host in hosts}
        found = self._get_many(list(keys.values()), max_bytes)
        return {host: index_entry(*found[key], now) for host, key in keys.items() if found[key] is not None}

    def read_profiles(
        self,
        observations: dict[str, Observation],
        index: dict[str, PulseEntry],
        *,
        now: datetime,
        stale_after: timedelta,
        limit: int,
        max_bytes: int,
    ) -> PulseReading:
        """Read the pulses that changed since they were ``index``ed (at most ``limit``, hosts that
        would be due under the module's ``stale_after`` first) and the operator's pauses, and make
        each host's Profile (pulses.py)."""
        changed = pulses_to_read(observations, index, now, stale_after)
        read = self.read_pulses(changed[:limit], now=now, max_bytes=max_bytes)
        entries = refresh_index(index, observations, read)
        paused = self.read_pauses().value.until_by_host(observations, now)
        host_profiles = profiles(entries, observations, stale_after, paused)
        return PulseReading(host_profiles, entries, len(read), len(changed) - len(read))

    def read_pulse_index(self) -> Stored[dict[str, PulseEntry]]:
        """GET ``state/pulses.json``: a Stored whose value is ``{host: PulseEntry}``."""
        return self._read_document(
            PULSE_INDEX_KEY,
            STATE_MAX_BYTES,
            decode_index,
            IndexFormatError,
            "pulse index unreadable; every pulse is read again",
            "pulse_index_reset",
            {},
        )

    def write_pulse_index(self, entries: dict[str, PulseEntry], *, etag: str | None, now: datetime) -> str:
        """PUT the pulse index over the version read (see write_state's conditions); returns the
        new ETag, or raises StateConflictError."""
        return self._put_conditional(PULSE_INDEX_KEY, encode_index(entries, updated_at=now), etag)

    # --- the operator's pauses ---

    def read_pauses(self) -> Stored[Pauses]:
        """GET ``state/pauses.json``: a Stored whose value is a Pauses (empty when absent or
        unreadable: a pause that cannot be read silences nothing)."""
        return self._read_document(
            PAUSES_KEY,
            STATE_MAX_BYTES,
            decode_pauses,
            PausesFormatError,
            "operator pauses unreadable; no host is paused by them",
            "pauses_unreadable",
            Pauses(),
        )

    def write_pauses(self, pauses: Pauses, *, etag: str | None, now: datetime) -> str:
        """PUT the pauses over the version read (pulse-pause only; see write_state's conditions);
        returns the new ETag, or raises StateConflictError."""
        return self._put_conditional(PAUSES_KEY, encode_pauses(pauses, updated_at=now), etag)

    # --- echo records ---

    def read_echoes(self, hosts: Iterable[str]) -> dict[str, EchoRecord]:
        """GET ``echo/<host>.json`` for each host (the caller bounds them); one that is gone, too
        large or unreadable is left out (logged): it only adds words to a recovery."""
        records = {}
        for host in dict.fromkeys(hosts):
            found = self._get(key_for(ECHO_PREFIX, host), ECHO_RECORD_MAX_BYTES)
            try:
                if found is not None:
                    records[host] = parse_echo_record(found[0] or b"")
            except ValueError as exc:
                log(self.logger, logging.WARNING, "unreadable echo record", host=host, reason=str(exc))
        return records

    # --- failure records ---

    def read_failures(self, hosts: Iterable[str], *, limit: int | None = None) -> dict[str, FailureRecord]:
        """GET ``failure/<host>.json`` for each host (at most ``limit`` of them, in order).

        A record over FAILURE_RECORD_MAX_BYTES is not read. A record deleted
        meanwhile is left out; one that is too large or does not parse becomes
        a FailureRecord with reason ``unreadable_failure_record`` (logged), so
        an alert still goes out.
        """
        records: dict[str, FailureRecord] = {}
        wanted = list(dict.fromkeys(hosts))
        if limit is not None:
            wanted = wanted[: max(limit, 0)]
        for host in wanted:
            key = key_for(FAILURE_PREFIX, host)
            data = self._get(key, FAILURE_RECORD_MAX_BYTES)
            if data is None:
                continue
            try:
                if data[0] is None:
                    raise ValueError(f"failure record is larger than {FAILURE_RECORD_MAX_BYTES} bytes")
                records[host] = parse_failure_record(data[0])
            except ValueError as exc:
                log(self.logger, logging.WARNING, "unreadable failure record", host=host, reason=str(exc))
                records[host] = FailureRecord(reason=reasons.UNREADABLE_FAILURE_RECORD, detail=str(exc))
        return records

    # --- state document ---

    def read_state(self) -> StoredState:
        """GET ``state/status.json``: ``StoredState(hosts, etag, ...)``; absent gives ``({}, None)``.

        A document that does not parse, or is over STATE_MAX_BYTES (not read),
        is logged as an error and read as empty (hosts that are down are then
        announced again: at least once), keeping its ETag so the next write
        replaces it. The same goes for another schema version (a newer
        pulse-echo's document after a downgrade): raising instead would fail
        every run until someone deleted it.
        """
        stored = self._read_document(
            STATE_KEY,
            STATE_MAX_BYTES,
            decode_state_document,
            StateFormatError,
            "state document unreadable; starting from an empty state",
            "state_reset",
        )
        document = stored.value
        if not isinstance(document, StateDocument):
            return StoredState(hosts={}, etag=stored.etag, unreadable=stored.unreadable)
        return StoredState(
            hosts=document.hosts,
            etag=stored.etag,
            pending_sns=document.pending_sns,
            stale_after_minutes=document.stale_after_minutes,
            pending_history=document.pending_history,
        )

    def state_etag(self) -> str | None:
        """The ETag of ``state/status.json`` now (a HEAD; None: absent): has another run written
        it since it was read?"""
        found = self._head(STATE_KEY)
        return None if found is None else found[1]

    def write_state(
        self,
        hosts: dict[str, HostState],
        *,
        etag: str | None,
        run_id: str,
        now: datetime,
        pending_sns: Sequence[PendingSns] = (),
        stale_after_minutes: float | None = None,
        pending_history: Sequence[HistoryEvent] = (),
    ) -> str:
        """PUT the state (with ``pending_sns``, ``stale_after_minutes`` and ``pending_history``:
        pass the ones read to keep them), only over the version read (``If-Match: etag``) or
        only if still absent (``If-None-Match: *`` when ``etag`` is None). Returns the new ETag.

        Raises StateConflictError when another writer got there first.
        """
        body = encode_state(
            hosts,
            updated_at=now,
            run_id=run_id,
            pending_sns=pending_sns,
            stale_after_minutes=stale_after_minutes,
            pending_history=pending_history,
        )
        return self._put_conditional(STATE_KEY, body, etag)

    # --- run lease ---

    def acquire_lease(self, run_id: str, now: datetime, duration: timedelta) -> Lease | None:
        """Take the run lease ``state/lock.json`` for ``duration``, or return None when
        another run holds a live one.

        Create-only PUT (``If-None-Match: *``). When the key exists, read it:
        a lease of this very run (a retried PUT whose first answer was lost)
        is ours; an expired one (``expires_at`` passed, or unreadable and
        older than ``duration``) is taken over with ``If-Match`` on its ETag,
        so that of two runs taking it over only one succeeds. No lease lasts
        longer than LEASE_MAX after it was taken (its ``acquired_at``, or its
        ``LastModified`` when that is missing or in the future), whatever
        ``expires_at`` it claims: a far-future one, left by a bad
        RUN_LEASE_SECONDS or a hand-written lock, would otherwise silence every
        later run without an error.
        """
        lease = self._put_lease(run_id, now, duration, {"IfNoneMatch": "*"})
        if lease is not None:
            return lease
        found = self._get(LEASE_KEY, LEASE_MAX_BYTES, with_last_modified=True)
        if found is None:  # released between our PUT and GET: one more try
            return self._put_lease(run_id, now, duration, {"IfNoneMatch": "*"})
        data, etag, last_modified = found
        holder, acquired_at, expires_at = _parse_lease(data)
        if holder == run_id:
            return Lease(run_id=run_id, etag=etag, acquired_at=now, expires_at=expires_at or now + duration)
        if expires_at is None:
            expires_at = (last_modified or now) + duration
        if acquired_at is None or acquired_at > now + LEASE_MAX:
            acquired_at = last_modified or now
        expires_at = min(expires_at, acquired_at + LEASE_MAX)
        if expires_at > now:
            note = {"outcome": "lease_held", "holder": holder, "expires_at": isoformat(expires_at)}
            log(self.logger, logging.INFO, "another run holds the lease", **note)
            return None
        note = {"outcome": "lease_taken_over", "holder": holder, "expired_at": isoformat(expires_at)}
        log(self.logger, logging.WARNING, "taking over an expired lease", **note)
        return self._put_lease(run_id, now, duration, {"IfMatch": etag})

    def release_lease(self, lease: Lease) -> None:
        """Delete the lease if it is still ours (``If-Match`` on its ETag); never raises
        for a lease that was taken over or is gone (logged)."""
        try:
            self._count()
            self.s3.delete_object(Bucket=self.bucket, Key=LEASE_KEY, IfMatch=lease.etag)
        except Exception as exc:
            if not aws.is_conflict(exc):
                raise
            log(
                self.logger,
                logging.WARNING,
                "lease was no longer ours at release",
                outcome="lease_lost",
                reason=aws.error_code(exc),
            )

    def _put_lease(self, run_id: str, now: datetime, duration: timedelta, condition: dict) -> Lease | None:
        expires_at = now + duration
        lease = {"run_id": run_id, "acquired_at": isoformat(now), "expires_at": isoformat(expires_at)}
        body = json.dumps(lease).encode()
        try:
            self._count()
            response = self.s3.put_object(
                Bucket=self.bucket, Key=LEASE_KEY, Body=body, ContentType="application/json", **condition
            )
        except Exception as exc:
            if aws.is_conflict(exc):
                return None
            raise
        return Lease(run_id=run_id, etag=response["ETag"], acquired_at=now, expires_at=expires_at)

    # --- reads ---


def _parse_lease(data: bytes | None) -> tuple[str | None, datetime | None, datetime | None]:
    """``(run_id, acquired_at, expires_at)`` from a lease body; None for what cannot be read
    (a body over the size cap, not JSON, nested too deeply, a time out of range...)."""
    try:
        document = decode_json(data or b"")
        run_id = document.get("run_id") if isinstance(document.get("run_id"), str) else None
        expires_at = parse_isoformat(document["expires_at"])
    except (JsonError, TypeError, KeyError, AttributeError, ValueError):
        return None, None, None
    try:
        acquired_at = parse_isoformat(document["acquired_at"])
    except (ValueError, TypeError, KeyError):
        acquired_at = None
    return run_id, acquired_at, expires_at
