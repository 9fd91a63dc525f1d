"""Fixtures shared by the unit and end-to-end suites.

- ``http_server``: a real threaded HTTP server on 127.0.0.1 (probe targets and
  webhook receivers; urllib3 is never mocked).
- ``aws_env``: dummy credentials and region so boto3 never reaches real AWS.
- ``s3``: an in-process moto S3 (``mock_aws``) with an empty bucket.
- ``json_logs``: the JSON lines of every pulse_echo logger (``capture_json_logs``:
  of chosen loggers); ``s3_seed``: S3 objects with a chosen LastModified.
- ``moto_endpoint``: a moto server for one test module; ``moto_clock``: moto's
  S3 clock pinned (the scripts' tests).
- ``check_echo_s3``: check_echo's environment on ``s3``; ``check_echo_logs``: the
  JSON lines check_echo logs.

Helpers that are not fixtures (handler environments, the scripts' command
line) are in tests/helpers.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

# tools/httpserver.py (shared with make demo) lets the end-to-end suite keep one per session.
from tools.httpserver import LocalHttpServer, start_http_server

EVENTS_DIR = Path(__file__).parent / "events"
TEST_BUCKET = "pulse-echo-unit-test"


@pytest.fixture
def http_server() -> Iterator[LocalHttpServer]:
    """A real HTTP server on 127.0.0.1:<free port>, stopped after the test."""
    state, stop = start_http_server()
    try:
        yield state
    finally:
        stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy AWS credentials and region; no profile, no real endpoint."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def s3(aws_env: None) -> Iterator[object]:
    """An S3 client on moto's in-process emulator, with bucket TEST_BUCKET created."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=TEST_BUCKET)
        yield client


def load_event(name: str) -> dict:
    """Load ``tests/events/<name>`` as JSON."""
    return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))


# --- the handlers' fixtures: JSON log capture, back-dated S3 objects ---


@contextlib.contextmanager
def capture_json_logs(*loggers: logging.Logger) -> Iterator[list[dict]]:
    """The JSON lines the given loggers write inside the ``with`` block, parsed.

    pulse_echo's loggers do not propagate to the root logger
    (pulse_echo.logs.get_logger), so ``caplog`` does not see them; this attaches a
    handler with the same JsonFormatter to each of them.
    """
    from pulse_echo.logs import JsonFormatter

    lines: list[dict] = []

    class _Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    capture = _Capture(level=logging.DEBUG)
    capture.setFormatter(JsonFormatter())
    for logger in loggers:
        logger.addHandler(capture)
    try:
        yield lines
    finally:
        for logger in loggers:
            logger.removeHandler(capture)


@pytest.fixture
def json_logs() -> Iterator[list[dict]]:
    """The JSON lines written by every ``pulse_echo.*`` logger during the test, parsed.

    Only the loggers that exist when the test starts are captured (import the
    module under test at the top of the test file); see capture_json_logs.
    """
    names = [name for name in list(logging.Logger.manager.loggerDict) if name.startswith("pulse_echo")]
    with capture_json_logs(*(logging.getLogger(name) for name in names)) as lines:
        yield lines


class S3Seed:
    """Writes objects into the moto bucket with a chosen ``LastModified``.

    S3 sets ``LastModified`` itself, so a test cannot ask for an echo that is
    16 minutes old; this writes through moto's in-process backend (moto 5.x
    internals: ``s3_backends[account]["global"].put_object`` and
    ``FakeKey.last_modified``, a naive UTC datetime) instead of the API. It is
    also ~50 times faster than put_object for seeding thousands of hosts.
    """

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put(self, key: str, body: bytes | str = b"{}", last_modified: object | None = None) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        data = body.encode() if isinstance(body, str) else body
        fake_key = s3_backends[DEFAULT_ACCOUNT_ID]["global"].put_object(self.bucket, key, data)
        if last_modified is not None:
            fake_key.last_modified = last_modified.astimezone(timezone.utc).replace(tzinfo=None)


@pytest.fixture
def s3_seed(s3: object) -> S3Seed:
    """An S3Seed for TEST_BUCKET (moto's ``mock_aws`` is active: see ``s3``)."""
    return S3Seed(bucket=TEST_BUCKET)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1:<free port> for one test module (tools/tf.py's Emulator); yields its URL.

    For tests that must cross a real HTTP boundary (the AWS CLI, a script run
    as a command); in-process tests use the ``s3`` fixture instead.
    """
    from tools.tf import Emulator

    with Emulator() as emulator:
        yield emulator.endpoint


# --- the scripts' fixtures: moto's clock ---

MOTO_CLOCK_START = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def moto_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Pin moto's clock, at MOTO_CLOCK_START: objects written after ``set_time(t)`` get
    ``LastModified == t``."""
    import moto.s3.models

    current = {"now": MOTO_CLOCK_START}
    monkeypatch.setattr(moto.s3.models, "utcnow", lambda: current["now"].replace(tzinfo=None))

    def set_time(moment: datetime) -> None:
        current["now"] = moment

    return set_time


# --- check_echo's fixtures ---


@pytest.fixture
def check_echo_s3(s3: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """check_echo's environment on moto (tests.helpers.check_echo_env). Yields the S3 client."""
    from tests.helpers import check_echo_env

    with check_echo_env(monkeypatch):
        yield s3


@pytest.fixture
def check_echo_logs() -> Iterator[list[dict]]:
    """The JSON lines check_echo logs during the test, parsed."""
    from check_echo.outcome import logger

    with capture_json_logs(logger) as lines:
        yield lines
