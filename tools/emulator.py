"""The local AWS emulator of the tests and ``make demo``, with a clock they move.

``Emulator``: ``moto_server`` on a free 127.0.0.1 port, started and waited
for until it answers, stopped (and reaped) on ``stop()`` / context exit. Three
changes to moto, made by its bootstrap (_MOTO_BOOTSTRAP): IAM's rule for
condition keys a request lacks, a clock that ``shift_clock`` moves
forward, and IAM's ListServiceSpecificCredentials. ``tools.tf`` re-exports
``Emulator`` (the harness's public name).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# Dummy credentials: the emulator accepts anything, and real AWS is never reached.
EMULATOR_REGION = "us-east-1"
EMULATOR_ACCOUNT_ID = "123456789012"  # moto's default account
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": EMULATOR_REGION,
    "AWS_REGION": EMULATOR_REGION,
}


# Three changes to moto_server, made by this bootstrap before it starts:
#
# 1. Bucket-policy conditions. moto 5.2 evaluates bucket policies on object
#    requests but supplies no condition keys, and it treats a condition on a
#    key it lacks as matching: the module's TLS-only statement (Deny s3:* if
#    aws:SecureTransport is false) would refuse every object request. In IAM a
#    condition on a key absent from the request does not match (for operators
#    without ...IfExists), so the statement does not apply. The emulator serves
#    plain HTTP and cannot tell TLS apart, so the TLS deny is inert there; the
#    module is unchanged, and the tests assert its policy document as written.
#
# 2. A clock the tests move. The whole process runs under time-machine
#    (travel to "now", ticking), so every clock moto reads (S3 LastModified,
#    SQS delays and visibility, log timestamps...: moto.core.utils.utcnow and
#    time.time) can be shifted forward. ``POST /_pulse-echo/clock`` with
#    ``{"shift_seconds": N}`` shifts it before it answers, so the next request
#    already sees the new time; ``GET`` reads it. Monotonic clocks (timeouts)
#    are untouched.
#
# 3. IAM ListServiceSpecificCredentials, which moto 5.2 does not implement (it
#    answers 500). The AWS provider calls it to destroy an aws_iam_user with
#    force_destroy (examples/hosts) and retries a 500 for minutes. No
#    user here has such credentials: the answer is an empty list, or
#    NoSuchEntity for an unknown user, as AWS gives.
_MOTO_BOOTSTRAP = """
import json, sys, time
import time_machine
from moto.iam import access_control as ac
import moto.server

_is_action_permitted = ac.IAMPolicyStatement.is_action_permitted

def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    keys = [key for block in (self._statement.get("Condition") or {}).values() for key in block]
    if any(key not in (incoming_condition_values or {}) for key in keys):
        return ac.PermissionResult.NEUTRAL
    return _is_action_permitted(self, action, resource, principal, incoming_condition_values)

ac.IAMPolicyStatement.is_action_permitted = is_action_permitted

from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse

def list_service_specific_credentials(self):
    self.backend.get_user(self._get_param("UserName"))  # NoSuchEntity, as AWS
    return ActionResult({"ServiceSpecificCredentials": []})

IamResponse.list_service_specific_credentials = list_service_specific_credentials

CLOCK_PATH = sys.argv.pop(1)
traveller = time_machine.travel(time.time(), tick=True).start()
offset = {"seconds": 0.0}
time.time()  # anchor: the traveller ticks from here, in step with the real clock

def clock_app(app):
    def serve(environ, start_response):
        if environ.get("PATH_INFO") != CLOCK_PATH:
            return app(environ, start_response)
        status = "200 OK"
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                seconds = float(json.loads(environ["wsgi.input"].read(length))["shift_seconds"])
                if not 0 <= seconds < 10 * 365 * 86400:
                    raise ValueError("shift_seconds must be >= 0 (clocks move forward) and under ten years")
            except (ValueError, TypeError, KeyError) as exc:
                body = json.dumps({"error": str(exc)}).encode()
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [body]
            traveller.shift(seconds)
            offset["seconds"] += seconds
        body = json.dumps({"offset_seconds": offset["seconds"], "now": time.time()}).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return serve

_run_simple = moto.server.run_simple

def run_simple(hostname, port, application, **options):
    return _run_simple(hostname, port, clock_app(application), **options)

moto.server.run_simple = run_simple
moto.server.main(sys.argv[1:])
"""

CLOCK_PATH = "/_pulse-echo/clock"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """``moto_server`` on 127.0.0.1:<free port>: ``start()``, use ``endpoint``, ``stop()``.

    Also a context manager. The server runs in its own session, so a Ctrl-C
    in the terminal reaches only us and our ``finally`` stops it cleanly.

    Its clock starts at the real time and can only move forward:
    ``shift_clock(timedelta(minutes=16))`` makes the emulator live 16 minutes
    later from the next request on; ``clock_offset`` is the total shift, which
    whoever plays the functions (tools/lambda_service.py) applies to their
    process too, so that both sides of every comparison agree.
    """

    def __init__(self, log_path: Path | None = None, startup_timeout: float = 30.0) -> None:
        self.port = 0
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.clock_offset = timedelta(0)
        self._log: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        """Start moto_server and wait until it answers; raises RuntimeError if it does not."""
        for _attempt in range(3):  # a port taken between free_port() and bind: try another
            self.port = free_port()
            if self.log_path is not None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self._log = open(self.log_path, "ab")
            else:
                self._log = tempfile.TemporaryFile()
            self.process = subprocess.Popen(
                [sys.executable, "-c", _MOTO_BOOTSTRAP, CLOCK_PATH, "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **DUMMY_CREDENTIALS},
            )
            if self._wait_until_ready():
                self.clock_offset = timedelta(0)
                return self
            self.stop()
        raise RuntimeError("moto_server did not start (see its log)")

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        return False

    def shift_clock(self, delta: timedelta) -> timedelta:
        """Move the emulator's clock forward by ``delta``; return the total offset.

        Synchronous: the emulator has shifted when this returns. Raises
        ValueError for a negative ``delta`` (S3 times never go back).
        """
        if delta < timedelta(0):
            raise ValueError(f"the clock only moves forward (got {delta})")
        request = urllib.request.Request(
            self.clock_url,
            data=json.dumps({"shift_seconds": delta.total_seconds()}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        self.clock_offset = timedelta(seconds=answer["offset_seconds"])
        return self.clock_offset

    @property
    def clock_url(self) -> str:
        """Where a played function moves the emulator's clock (tools/lambda_service.py)."""
        return self.endpoint + CLOCK_PATH

    def read_clock(self) -> timedelta:
        """Read the emulator's clock offset again (a played function may have moved it while
        it slept) and return it."""
        with urllib.request.urlopen(self.clock_url, timeout=10) as response:
            answer = json.loads(response.read())
        self.clock_offset = timedelta(seconds=answer["offset_seconds"])
        return self.clock_offset

    def now(self) -> datetime:
        """The emulator's current time (UTC): the real time plus ``clock_offset``."""
        return datetime.now(timezone.utc) + self.clock_offset

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and reap it. Idempotent."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def client_environment(self) -> dict[str, str]:
        """Environment for boto3/AWS CLI processes that must talk to this emulator."""
        return {**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def boto3_client(self, service: str) -> Any:
        """A boto3 client of ``service`` on this emulator, with dummy credentials."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=EMULATOR_REGION,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def empty_bucket(self, bucket: str) -> int:
        """Delete every object (and version) in ``bucket``, if it exists; return how many.

        Provider 5.x's ``force_destroy`` can loop against moto on keys that need
        URL-encoding (docs/DESIGN.md section 4): tests and the demo empty a
        bucket this way before ``terraform destroy``.
        """
        s3 = self.boto3_client("s3")
        deleted = 0
        try:
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                items = [
                    {"Key": item["Key"], "VersionId": item["VersionId"]}
                    for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if items:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": items, "Quiet": True})
                    deleted += len(items)
        except s3.exceptions.NoSuchBucket:
            pass  # nothing to empty (an apply that stopped before creating it)
        return deleted

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
