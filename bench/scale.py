"""check_result at scale: S3 requests, wall time, memory and a profile per run.

Usage: python bench/scale.py --hosts 1000 [--json]

One process measures one size (run.py starts a fresh process per size, so
``ru_maxrss`` belongs to that size alone). Everything runs in moto's
in-process ``mock_aws``:

- setup writes ``pulse/``, ``echo/`` and ``failure/`` objects for every host
  straight into moto's backend with the ``LastModified`` we want (through
  boto3 it would take minutes at 50,000 hosts), and check_result's pulse
  index as a run that had read every pulse would have left it; the pulses
  are a mix of kinds (KIND_MIX: probes, heartbeats, nightly jobs with their
  own 1,500-minute threshold); 0.1% of hosts are stale (last echo 30 minutes
  ago): every other one still pulses but its checks fail (a ``failure/``
  record newer than the echo says why), the others stopped pulsing 31
  minutes ago;
- the measured runs go through boto3 exactly as in Lambda: the handler is
  imported from ``lambda_src``, configured through its environment variables,
  and called with an EventBridge ``Scheduled Event``; it posts to a real
  webhook receiver on 127.0.0.1;
- S3 requests are counted with a botocore event hook (one count per API call,
  by operation and listed prefix);
- wall time, tracemalloc peak and the cProfile breakdown come from separate
  runs, so that tracing does not slow the timed run.

Run 1 after setup is the *first run*: every stale host is a status change
(one alert message). The next runs are the *steady state*: before each,
CHANGE_FRACTION (1%) of the pulses change (a job reports again, a host's
pulse gains a field), so the run reads those pulses and rewrites the index;
no status changes. Last, the *index rebuild*: the pulse index is deleted (a
first run after an upgrade), and the run reads the pulses it can
(PULSE_READS_PER_RUN), hosts that would be due first.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import importlib
import json
import math
import os
import pstats
import re
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "lambda_src", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from pulse_echo.layout import (  # noqa: E402  (after sys.path is set)
    ECHO_PREFIX,
    FAILURE_PREFIX,
    PULSE_INDEX_KEY,
    PULSE_PREFIX,
    STATE_PREFIX,
    key_for,
)
from pulse_echo.times import isoformat  # noqa: E402

BUCKET = "pulse-echo-bench"
REGION = "us-east-1"
STALE_AFTER_MINUTES = 15.0
STALE_FRACTION = 0.001
CHANGE_FRACTION = 0.01
KIND_MIX = (("probe", 12), ("heartbeat", 5), ("job", 3))
"""Kinds of pulse, in twentieths of the hosts: 60% probes, 25% heartbeats, 15% nightly jobs."""
LIST_PAGE_SIZE = 1000  # S3's maximum keys per ListObjects(V2) page
DEFAULT_TIMEOUT_SECONDS = 60  # used when variables.tf does not say
LAMBDA_FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, CPU share scales with memory

SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-01-01T00:00:00Z",
    "region": REGION,
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/pulse-echo-check-result"],
    "detail": {},
}


# --- environment -----------------------------------------------------------


def set_aws_env() -> None:
    """Dummy credentials and region so boto3 can never reach real AWS."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        os.environ.pop(name, None)


def tf_variable_default(name: str, root: Path = ROOT) -> str | None:
    """Return the literal ``default`` of ``variable "<name>"`` in ``variables.tf``, or None.

    None when the file or the variable does not exist, or the default is null
    or not a literal (number or string). Parsed with tools/tfdocs.py's HCL reader.
    """
    from tools import tfdocs

    path = root / "variables.tf"
    if not path.exists():
        return None
    for block in tfdocs.parse(path.read_text(encoding="utf-8"), path.name):
        if block.type == "variable" and block.labels == [name]:
            default = block.attributes.get("default")
            if default is None or default == "null":
                return None
            if re.fullmatch(r"[0-9.]+", default):
                return default
            try:
                return tfdocs.string_value(default)
            except tfdocs.HclError:
                return None
    return None


def read_module_defaults(root: Path = ROOT) -> dict[str, Any]:
    """Return the module defaults the benchmarks compare against (those that exist in variables.tf).

    Keys: ``check_result_timeout_seconds``, ``check_result_memory_mb``,
    ``check_echo_memory_mb`` (numbers), ``architecture`` (``x86_64`` unless a
    ``lambda_architecture`` variable says otherwise: the functions set none),
    ``schedule_period_seconds`` (of the default ``check_schedule_expression``, a rate).
    """
    found: dict[str, Any] = {}
    for name in ("check_result_timeout_seconds", "check_result_memory_mb", "check_echo_memory_mb"):
        value = tf_variable_default(name, root)
        if value is not None:
            with contextlib.suppress(ValueError):
                found[name] = float(value)
    found["architecture"] = tf_variable_default("lambda_architecture", root) or "x86_64"
    period = schedule_period_seconds(tf_variable_default("check_schedule_expression", root) or "")
    if period is not None:
        found["schedule_period_seconds"] = period
    return found


def schedule_period_seconds(expression: str) -> float | None:
    """Seconds between two runs of a ``rate(N unit[s])`` schedule; None for anything else."""
    found = re.fullmatch(r"rate\(([0-9]+) (minute|hour|day)s?\)", expression)
    if found is None:
        return None
    return float(found.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[found.group(2)]


# --- request counting (botocore event hooks) --------------------------------


@dataclass
class RequestLog:
    """S3 API calls seen by the hook: ``(operation, prefix or key prefix)``."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    enabled: bool = False

    def __call__(self, params: dict[str, Any] | None = None, model: Any = None, **_: Any) -> None:
        if not self.enabled or model is None:
            return
        params = params or {}
        if "Prefix" in params:
            where = str(params["Prefix"])
        elif "Key" in params:
            key = str(params["Key"])
            where = key.split("/", 1)[0] + "/" if "/" in key else key
        else:
            where = ""
        self.calls.append((model.name, where))

    @contextlib.contextmanager
    def recording(self) -> Iterator[RequestLog]:
        self.calls.clear()
        self.enabled = True
        try:
            yield self
        finally:
            self.enabled = False

    def summary(self) -> dict[str, Any]:
        by_operation = Counter(op for op, _ in self.calls)
        lists = Counter(where for op, where in self.calls if op.startswith("ListObjects"))
        return {
            "total": len(self.calls),
            "by_operation": dict(sorted(by_operation.items())),
            "list_pages_by_prefix": dict(sorted(lists.items())),
            "other": len([1 for op, _ in self.calls if not op.startswith("ListObjects")]),
        }


REQUEST_LOG = RequestLog()


def install_request_hook() -> None:
    """Count every S3 API call made by any client created from now on.

    The hook is added to botocore's built-in handlers (the mechanism moto
    itself uses), so clients the handler creates on its own get it too; it
    fires once per API call on ``before-parameter-build.s3.<Operation>``.
    """
    from botocore.handlers import BUILTIN_HANDLERS

    entry = ("before-parameter-build.s3", REQUEST_LOG)
    if entry not in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.append(entry)


# --- webhook receiver -------------------------------------------------------


class WebhookReceiver:
    """A tiny HTTP server on 127.0.0.1: 200 to every POST (bodies kept), 200 "ok" to every GET."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.bodies.append(body)
                self.reply_ok()

            def do_GET(self) -> None:  # a healthy probe target for check_echo (cost.py)
                self.reply_ok()

            def reply_ok(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> list[bytes]:
        with self._lock:
            bodies, self.bodies = self.bodies, []
        return bodies


# --- a faster emulator: indexed ListObjectsV2 ----------------------------------

_KEYSTORE_GENERATION = [0]
_MUTATORS = ("__setitem__", "setlist", "pop", "__delitem__", "clear", "update", "setdefault")


def install_indexed_listing() -> Callable[[], None]:
    """Make moto's ListObjectsV2 cost O(page) instead of O(bucket) per page. Emulator only.

    moto 5 answers every ListObjectsV2 page by copying the whole bucket's key
    dict, filtering it by prefix, sorting it twice and scanning it for the
    continuation token: O(n) per page, so O(n^2) per listing. At 50,000 hosts
    (100,000 objects, 100 pages per run) that is minutes per run, all of it in
    the emulator: real S3 does not do that. This swaps in the same answer from
    a sorted index per (bucket, prefix), rebuilt after any write to any bucket
    (a generation counter bumped by every mutation of moto's key store). Only
    listings without a delimiter take the fast path; the XML serialisation
    (moto's response layer) is unchanged, and so is everything botocore and the
    handler do. ``tests/unit/test_bench_scale.py`` checks that both paths
    return the same pages. Returns a function that puts moto back as it was.
    """
    import bisect

    from moto.s3 import utils as s3_utils
    from moto.s3.models import FakeDeleteMarker, FakeTableStorageBucket, S3Backend

    store = s3_utils._VersionedKeyStore
    if getattr(store, "_bench_indexed", False):
        return lambda: None
    saved_methods = {name: store.__dict__[name] for name in _MUTATORS if name in store.__dict__}

    def bumping(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            _KEYSTORE_GENERATION[0] += 1
            return method(self, *args, **kwargs)

        return wrapper

    for name in _MUTATORS:
        if hasattr(store, name):
            setattr(store, name, bumping(getattr(store, name)))
    store._bench_indexed = True

    original = S3Backend.list_objects_v2
    indexes: dict[tuple[int, str], tuple[int, list[str], list[Any]]] = {}

    def index_for(bucket: Any, prefix: str) -> tuple[list[str], list[Any]]:
        cache_key = (id(bucket), prefix)
        cached = indexes.get(cache_key)
        if cached is not None and cached[0] == _KEYSTORE_GENERATION[0]:
            return cached[1], cached[2]
        pairs = sorted(
            (name, versions[-1])
            for name, versions in dict.items(bucket.keys)
            if name.startswith(prefix) and versions and not isinstance(versions[-1], FakeDeleteMarker)
        )
        names = [name for name, _ in pairs]
        keys = [key for _, key in pairs]
        indexes[cache_key] = (_KEYSTORE_GENERATION[0], names, keys)
        return names, keys

    def list_objects_v2(
        self: Any,
        bucket: Any,
        prefix: str | None,
        delimiter: str | None,
        continuation_token: str | None,
        start_after: str | None,
        max_keys: int,
    ) -> Any:
        if delimiter or isinstance(bucket, FakeTableStorageBucket):
            return original(self, bucket, prefix, delimiter, continuation_token, start_after, max_keys)
        names, keys = index_for(bucket, prefix or "")
        start = 0
        if continuation_token or start_after:
            limit = self._pagination_tokens.get(continuation_token) if continuation_token else start_after
            start = bisect.bisect_right(names, limit)
        return self._truncate_result(keys[start : start + max_keys + 1], max_keys)

    S3Backend.list_objects_v2 = list_objects_v2

    def uninstall() -> None:
        S3Backend.list_objects_v2 = original
        for name in _MUTATORS:
            if name in saved_methods:
                setattr(store, name, saved_methods[name])
            elif name in store.__dict__:
                delattr(store, name)
        del store._bench_indexed
        indexes.clear()

    return uninstall


# --- populating moto ---------------------------------------------------------


def host_name(index: int) -> str:
    return f"host-{index:06d}"


def stale_indices(hosts: int, fraction: float = STALE_FRACTION) -> list[int]:
    """Indices of stale hosts: ``max(1, hosts * fraction)`` of them, spread evenly.

    With 0.1% they are hosts 500, 1500, 2500, ...: one in every 1,000, so the
    original algorithm's single 1,000-key listing sees exactly the first one.
    """
    count = max(1, round(hosts * fraction))
    step = hosts // count
    return [k * step + step // 2 for k in range(count)]


def kind_of(index: int, stale: set[int] | frozenset[int] = frozenset(), mix: tuple = KIND_MIX) -> str:
    """Host ``index``'s kind of pulse (``mix``, round-robin); a stale host is a probe (its checks
    fail, or its pulses stopped)."""
    if index in stale:
        return "probe"
    slot = index % sum(share for _, share in mix)
    for kind, share in mix:
        if slot < share:
            return kind
        slot -= share
    raise AssertionError("unreachable")


def pulse_body(index: int, kind: str, round_: int = 0) -> dict[str, Any]:
    """What host ``index`` uploads: a probe's URL and body, a heartbeat's nothing, a nightly job's
    report (with its own threshold). ``round_`` > 0: a later upload that differs (new ETag)."""
    if kind == "probe":
        body: dict[str, Any] = {"url": f"https://{host_name(index)}.example.com/health", "body": "ok"}
    elif kind == "heartbeat":
        body = {}
    else:
        body = {
            "result": "ok",
            "exit_code": 0,
            "duration_seconds": 60.0 + (index * 31 + round_ * 7) % 600,
            "message": "backup done",
            "stale_after_minutes": 1500,
        }
    if round_ and kind != "job":
        body["deployed"] = f"release-{round_}"  # a field of the host's own: ignored, but a new ETag
    return body


def echo_body(index: int, kind: str, echo_at: datetime) -> dict[str, Any]:
    url = f"https://{host_name(index)}.example.com/health" if kind == "probe" else None
    return {
        "checked_at": isoformat(echo_at),
        "kind": kind,
        "url": url,
        "http_status": 200 if url else None,
        "elapsed_ms": 12 if url else None,
    }


@dataclass
class Population:
    hosts: int
    stale: list[int]
    objects: int
    setup_seconds: float
    kinds: dict[str, int] = field(default_factory=dict)


def populate(hosts: int, now: datetime, mix: tuple = KIND_MIX) -> Population:
    """Create the bucket (through boto3) and fill it through moto's backend (setup only), the
    kinds of pulse in the proportions of ``mix``."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    started = time.perf_counter()
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    stale = stale_indices(hosts)
    stale_set = set(stale)
    failing = set(stale[0::2])  # every other stale host: pulses arrive, checks fail; the rest stopped
    now = now.astimezone(timezone.utc)
    objects = 0

    def put(key: str, body: dict[str, Any], when: datetime) -> None:
        nonlocal objects
        fake = backend.put_object(BUCKET, key, json.dumps(body).encode(), disable_notification=True)
        fake.last_modified = when.replace(tzinfo=None)  # moto keeps naive UTC
        objects += 1

    kinds: Counter[str] = Counter()
    for index in range(hosts):
        host = host_name(index)
        url = f"https://{host}.example.com/health"
        kind = kind_of(index, stale_set, mix)
        kinds[kind] += 1
        if index in failing:
            echo_at = now - timedelta(minutes=30)  # last good check
            pulse_at = now - timedelta(seconds=(index * 7919) % 600)  # still pulsing
        elif index in stale_set:
            pulse_at = now - timedelta(minutes=31)  # stopped: no pulse since
            echo_at = now - timedelta(minutes=30)
        elif kind == "job":
            # nightly, at some time in the last 24 hours
            echo_at = now - timedelta(seconds=(index * 7919) % 86_400)
            pulse_at = echo_at - timedelta(seconds=1)
        else:
            # spread over one pulse interval (10 minutes), like hosts on their own clocks
            echo_at = now - timedelta(seconds=(index * 7919) % 600)
            pulse_at = echo_at - timedelta(seconds=1)
        put(key_for(PULSE_PREFIX, host), pulse_body(index, kind), pulse_at)
        put(key_for(ECHO_PREFIX, host), echo_body(index, kind, echo_at), echo_at)
        if index in failing:
            failed_at = pulse_at + timedelta(seconds=1)  # the check of its latest pulse failed
            put(
                key_for(FAILURE_PREFIX, host),
                {
                    "failed_at": isoformat(failed_at),
                    "url": url,
                    "reason": "timeout",
                    "detail": "read timed out after 5 s",
                    "http_status": None,
                    "elapsed_ms": 5003,
                    "expected_excerpt": "ok",
                    "received_excerpt": None,
                },
                failed_at,
            )
    build_index(now)
    return Population(hosts, stale, objects, time.perf_counter() - started, dict(kinds))


def _backend() -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    return s3_backends[DEFAULT_ACCOUNT_ID]["global"]


def build_index(now: datetime) -> int:
    """Write ``state/pulses.json`` as check_result leaves it once it has read every pulse (each
    pulse's bytes and ETag, through check_result's own codec). Setup only. Returns its size."""
    from check_result.pulses import encode_index, index_entry
    from pulse_echo.layout import host_from_key

    backend = _backend()
    bucket = backend.get_bucket(BUCKET)
    entries = {}
    for name in list(bucket.keys.keys()):
        host = host_from_key(name, PULSE_PREFIX)
        if host is not None:
            fake = bucket.keys[name]
            entries[host] = index_entry(fake.value, fake.etag, now)
    data = encode_index(entries, updated_at=now)
    backend.put_object(BUCKET, PULSE_INDEX_KEY, data, disable_notification=True)
    return len(data)


def change_pulses(hosts: int, round_: int, now: datetime, fraction: float = CHANGE_FRACTION) -> int:
    """Before a steady run: ``fraction`` of the pulses change (every 100th host at 1%, offset by
    the round): a job reports again (and check_echo's echo with it), another host's pulse gains a
    field. Through moto's backend, dated ``now``. Returns how many changed."""
    backend = _backend()
    step = max(1, round(1 / fraction))
    stale = set(stale_indices(hosts))
    changed = 0
    for index in range(round_ % step, hosts, step):
        kind = kind_of(index, stale)
        if index in stale:
            continue  # the stale hosts stay as they are
        host = host_name(index)
        for key, body in (
            (key_for(PULSE_PREFIX, host), pulse_body(index, kind, round_)),
            (key_for(ECHO_PREFIX, host), echo_body(index, kind, now)),
        ):
            fake = backend.put_object(BUCKET, key, json.dumps(body).encode(), disable_notification=True)
            fake.last_modified = now.astimezone(timezone.utc).replace(tzinfo=None)
        changed += 1
    return changed


def reset_state(now: datetime) -> int:
    """Delete check_result's own records (``state/``) so the next run is a first run again, with
    the pulse index rebuilt as setup left it."""
    backend = _backend()
    bucket = backend.get_bucket(BUCKET)
    names = [name for name in list(bucket.keys.keys()) if name.startswith(STATE_PREFIX)]
    for name in names:
        backend.delete_object(BUCKET, name)
    build_index(now)
    return len(names)


def delete_index() -> None:
    """Lose the pulse index (a first run after an upgrade, or a deleted cache)."""
    _backend().delete_object(BUCKET, PULSE_INDEX_KEY)


# --- the handler --------------------------------------------------------------


def load_handler(module_name: str = "check_result.handler") -> Callable[[dict, Any], Any]:
    """Import the Lambda handler the way the runtime does (``module.handler``)."""
    module = importlib.import_module(module_name)
    for name in ("handler", "lambda_handler"):
        function = getattr(module, name, None)
        if callable(function):
            return function
    raise AttributeError(f"{module_name} has no handler()")


def configure_check_result(webhook_url: str) -> None:
    os.environ.update(
        {
            "PULSE_ECHO_BUCKET": BUCKET,
            "ALERT_WEBHOOK_URL": webhook_url,
            "ALERT_WEBHOOK_FORMAT": "json",
            "STALE_AFTER_MINUTES": f"{STALE_AFTER_MINUTES:g}",
            "RENOTIFY_MINUTES": "0",
            "LOG_LEVEL": "INFO",  # the module default; the lines go to /dev/null (quiet_stderr)
        }
    )


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Drop the handler's JSON log lines (stderr) during measured runs."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _proc_status_mb(field: str) -> float:
    """``field`` of /proc/self/status (a size in kB) in MiB; NaN where there is no such line."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_now_mb() -> float:
    """The process's current RSS (VmRSS) in MiB."""
    return _proc_status_mb("VmRSS")


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_peak_mb() -> float:
    """The process's peak RSS (VmHWM) in MiB, since start or since reset_rss_peak()."""
    return _proc_status_mb("VmHWM")


def reset_rss_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: ``5`` to /proc/self/clear_refs); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


_MOTO_SECONDS = [0.0]  # wall time inside moto
_MOTO_CPU_SECONDS = [0.0]  # CPU time inside moto, of whichever thread made the call
_MOTO_LOCK = threading.Lock()


def install_moto_timer() -> None:
    """Add up the time spent inside moto's botocore stub: the whole server side of every S3 call.

    moto answers each request from a ``before-send`` hook (``BotocoreStubber``);
    timing its ``__call__`` costs two clock reads per request, unlike a
    profiler, so every timed run can say how much of it was the emulator.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    if getattr(BotocoreStubber, "_bench_timed", False):
        return
    original = BotocoreStubber.__call__

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            with _MOTO_LOCK:  # check_result reads changed pulses from several threads
                _MOTO_SECONDS[0] += time.perf_counter() - started
                _MOTO_CPU_SECONDS[0] += time.thread_time() - cpu_started

    BotocoreStubber.__call__ = timed  # type: ignore[method-assign]
    BotocoreStubber._bench_timed = True  # type: ignore[attr-defined]


@dataclass
class RunResult:
    seconds: float
    requests: dict[str, Any]
    messages: int
    summary: Any = None
    moto_seconds: float = 0.0
    rss_growth_mb: float | None = None
    cpu_seconds: float = 0.0  # CPU time of the process during the run (its reading threads included)
    moto_cpu_seconds: float = 0.0


def timed_run(handler: Callable[[dict, Any], Any], receiver: WebhookReceiver) -> RunResult:
    """One run, timed; with its S3 requests, messages, time inside moto and peak RSS growth.

    Wall time depends on what else the machine runs; CPU time (``cpu_seconds``
    of the process, so the threads that read changed pulses count too, and
    ``moto_cpu_seconds`` of it inside moto) much less, so the Lambda estimate in
    run.py is built on CPU time. The webhook receiver's thread is counted too:
    it takes one POST per message, nothing beside the listings.
    """
    gc.collect()
    rss_before = rss_now_mb()
    peak_reset = reset_rss_peak()
    moto_before, moto_cpu_before = _MOTO_SECONDS[0], _MOTO_CPU_SECONDS[0]
    with REQUEST_LOG.recording(), quiet_stderr():
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = handler(dict(SCHEDULED_EVENT), None)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return RunResult(
        seconds,
        REQUEST_LOG.summary(),
        len(receiver.take()),
        _jsonable(summary),
        moto_seconds=_MOTO_SECONDS[0] - moto_before,
        rss_growth_mb=rss_peak_mb() - rss_before if peak_reset else None,
        cpu_seconds=cpu_seconds,
        moto_cpu_seconds=_MOTO_CPU_SECONDS[0] - moto_cpu_before,
    )


def traced_run(handler: Callable[[dict, Any], Any], receiver: WebhookReceiver) -> float:
    """Peak Python heap allocated during one run (tracemalloc), in MiB."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        with quiet_stderr():
            handler(dict(SCHEDULED_EVENT), None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    receiver.take()
    return (peak - base) / (1024 * 1024)


class _InlinePool:
    """A ThreadPoolExecutor's submit/map that runs each call at once, in the calling thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> _InlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from concurrent.futures import Future

        future: Future = Future()
        future.set_result(function(*args, **kwargs))
        return future

    def map(self, function: Callable[..., Any], items: Any) -> list[Any]:
        return [function(item) for item in items]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """check_result's listings and reads, one after the other in this thread (cProfile sees only
    the thread that enabled it); the profile's times are then each call's, not the overlap's."""
    from check_result import bucket, store

    saved = (store.ThreadPoolExecutor, bucket.ThreadPoolExecutor)
    store.ThreadPoolExecutor = bucket.ThreadPoolExecutor = _InlinePool  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        store.ThreadPoolExecutor, bucket.ThreadPoolExecutor = saved  # type: ignore[misc]


def profiled_run(handler: Callable[[dict, Any], Any], receiver: WebhookReceiver) -> dict[str, Any]:
    """cProfile one run (its listings and reads one after the other: one_thread) and split its
    time: moto (the emulated S3 server) vs everything else.

    ``moto_seconds`` is the cumulative time of moto's botocore stub (the whole
    server side of every S3 call: it does not exist in Lambda). ``ours_self``
    is the self time of functions in our packages (``pulse_echo``, ``check_result``...);
    ``client_and_ours`` is
    what remains after moto: our code, botocore/boto3 on the client side
    (building requests, parsing XML) and the webhook post, i.e. what Lambda
    would also run.
    """
    profiler = cProfile.Profile()
    gc.collect()
    with quiet_stderr(), one_thread():
        profiler.enable()
        started = time.perf_counter()
        handler(dict(SCHEDULED_EVENT), None)
        wall = time.perf_counter() - started
        profiler.disable()
    receiver.take()
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())  # sum of self times
    moto_cum = 0.0
    self_by_package: Counter[str] = Counter()
    ours: list[tuple[float, float, str]] = []
    for (filename, line, name), (_cc, _nc, tottime, cumtime, _callers) in raw.items():
        package = _package_of(filename)
        self_by_package[package] += tottime
        if package == "moto" and name == "__call__" and filename.endswith("botocore_stubber.py"):
            moto_cum = max(moto_cum, cumtime)
        if package == "pulse_echo":
            ours.append((cumtime, tottime, f"{Path(filename).name}:{line}({name})"))
    ours.sort(reverse=True)
    return {
        "profiled_wall_seconds": wall,
        "profiled_total_seconds": total,
        "moto_seconds": moto_cum,
        "client_and_ours_seconds": max(0.0, total - moto_cum),
        "moto_share": moto_cum / total if total else 0.0,
        "ours_self_seconds": self_by_package.get("pulse_echo", 0.0),
        "self_seconds_by_package": {k: round(v, 4) for k, v in self_by_package.most_common()},
        "top_pulse_echo_functions": [
            {"function": label, "cumulative_s": round(cum, 4), "self_s": round(tot, 4)}
            for cum, tot, label in ours[:8]
        ],
    }


OUR_PACKAGES = ("pulse_echo", "check_result", "check_echo", "pulse_echo_cli")
"""lambda_src's packages: all counted as ``pulse_echo``, our code."""


def _package_of(filename: str) -> str:
    normalized = filename.replace("\\", "/")
    if any(f"/lambda_src/{package}/" in normalized for package in OUR_PACKAGES):
        return "pulse_echo"
    for package in ("moto", "botocore", "boto3", "urllib3", "s3transfer"):
        if f"/{package}/" in normalized:
            return package
    if normalized.startswith("<") or "/lib/python3" in normalized or "{built-in" in normalized:
        return "python stdlib/builtins"
    return "other"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


# --- the baseline -------------------------------------------------------------


def baseline_run(receiver: WebhookReceiver, stale_hosts: list[str]) -> dict[str, Any]:
    import boto3

    from bench.baseline_original import run_original

    s3 = boto3.client("s3", region_name=REGION)
    with REQUEST_LOG.recording():
        started = time.perf_counter()
        result = run_original(s3, BUCKET, receiver.url, threshold_minutes=STALE_AFTER_MINUTES)
        seconds = time.perf_counter() - started
    messages = len(receiver.take())
    missed = sorted(set(stale_hosts) - set(result.alerted))
    false_alarms = sorted(set(result.alerted) - set(stale_hosts))  # nightly jobs, one threshold for all
    return {
        "seconds": seconds,
        "requests": REQUEST_LOG.summary(),
        "messages": messages,
        "listed": result.listed,
        "truncated": result.truncated,
        "alerted": len(result.alerted),
        "missed": len(missed),
        "missed_examples": missed[:3],
        "false_alarms": len(false_alarms),
    }


# --- one size -----------------------------------------------------------------


def request_bound(hosts: int, prefixes: int, changes: int, per_change: int, constant: int) -> int:
    """The issue's bound: ``ceil(hosts/1000)`` per listed prefix + a constant per change + a constant."""
    return prefixes * math.ceil(hosts / LIST_PAGE_SIZE) + per_change * changes + constant


def measure(
    hosts: int,
    *,
    repeats: int = 3,
    profile: bool = True,
    memory: bool = True,
    indexed_listing: bool = True,
) -> dict[str, Any]:
    """Measure check_result (and the original algorithm) at ``hosts`` hosts; returns a JSON-able dict."""
    set_aws_env()
    install_request_hook()
    install_moto_timer()
    if indexed_listing:
        install_indexed_listing()
    from moto import mock_aws

    result: dict[str, Any] = {"hosts": hosts, "indexed_listing": indexed_listing}
    with mock_aws(), WebhookReceiver() as receiver:
        now = datetime.now(timezone.utc)
        population = populate(hosts, now)
        result.update(
            stale=len(population.stale),
            objects=population.objects,
            setup_seconds=round(population.setup_seconds, 2),
        )
        configure_check_result(receiver.url)
        handler = load_handler()
        # A warm container: the handler's S3 client (its own botocore session and S3 model)
        # exists before the run, as run.lambda_base_rss_mb counts it at rest.
        importlib.import_module("check_result.handler")._client("s3")
        rss_before = rss_now_mb()

        first = timed_run(handler, receiver)
        steady, changed = [], []
        for round_ in range(1, repeats + 1):
            changed.append(change_pulses(hosts, round_, datetime.now(timezone.utc)))
            steady.append(timed_run(handler, receiver))
        steady_median = statistics.median(run.seconds for run in steady)
        delete_index()
        rebuild = timed_run(handler, receiver)
        result["first_run"] = {
            "seconds": first.seconds,
            "cpu_seconds": first.cpu_seconds,
            "moto_cpu_seconds": first.moto_cpu_seconds,
            "moto_seconds": first.moto_seconds,
            "rss_growth_mb": first.rss_growth_mb,
            "requests": first.requests,
            "messages": first.messages,
            "summary": first.summary,
        }
        result["steady_run"] = {
            "seconds": steady_median,
            "seconds_all": [run.seconds for run in steady],
            "moto_seconds": statistics.median(run.moto_seconds for run in steady),
            # of the CPU time: the listings run in three threads, so moto's wall time overlaps
            "moto_share": statistics.median(run.moto_cpu_seconds / run.cpu_seconds for run in steady),
            "cpu_seconds": statistics.median(run.cpu_seconds for run in steady),
            "cpu_outside_moto_seconds": statistics.median(
                run.cpu_seconds - run.moto_cpu_seconds for run in steady
            ),
            "rss_growth_mb": max((run.rss_growth_mb or 0.0) for run in steady),
            "requests": steady[0].requests,
            "messages": sum(run.messages for run in steady),
            "pulses_changed": changed[0],
            "summary": steady[0].summary,
        }
        result["rebuild_run"] = {
            "seconds": rebuild.seconds,
            "cpu_seconds": rebuild.cpu_seconds,
            "requests": rebuild.requests,
            "messages": rebuild.messages,
            "summary": rebuild.summary,
        }
        result["kinds"] = population.kinds
        result["rss_before_runs_mb"] = rss_before
        result["maxrss_after_timed_runs_mb"] = maxrss_mb()

        if memory:
            # the first run is the heavier one (the same listings, plus the alert and its records)
            reset_state(now)
            result["tracemalloc_peak_mb"] = {"first_run": traced_run(handler, receiver)}
        if profile:
            change_pulses(hosts, repeats + 1, datetime.now(timezone.utc))
            result["profile_steady_run"] = profiled_run(handler, receiver)

        stale_hosts = [host_name(i) for i in population.stale]
        result["baseline"] = baseline_run(receiver, stale_hosts)

    result["maxrss_mb"] = maxrss_mb()
    result["module_defaults"] = read_module_defaults()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3, help="steady-state runs to time (median)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument(
        "--moto-listing", action="store_true", help="keep moto's own O(bucket)-per-page ListObjectsV2"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object (for run.py)")
    args = parser.parse_args(argv)
    data = measure(
        args.hosts,
        repeats=args.repeats,
        profile=not args.no_profile,
        memory=not args.no_memory,
        indexed_listing=not args.moto_listing,
    )
    if args.json:
        print(json.dumps(data))
    else:
        print(json.dumps(data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
