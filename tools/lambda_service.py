"""Play the Lambda service for functions deployed to the local emulator.

moto stores Lambda functions but cannot run them (no Docker here), so the
end-to-end tests and ``make demo`` run them the way Lambda would
(docs/DESIGN.md section 4):

- ``DeployedFunction.fetch()`` reads a function's configuration (handler,
  runtime, timeout, environment, ``CodeSha256``) back from the emulator;
- ``DeployedFunction.check_code()`` proves the local zip is the deployed code
  (``CodeSha256`` is the base64 SHA-256 of the zip);
- ``DeployedFunction.invoke()`` imports the handler from that zip in a fresh
  Python process whose environment is exactly the deployed one, plus what the
  Lambda runtime adds (region, function name, credentials) and
  ``AWS_ENDPOINT_URL`` pointing at the emulator; the deployed timeout is
  enforced; with ``clock_offset``, that process lives that much later than
  the real time (time-machine, ticking), as the emulator does after
  ``Emulator.shift_clock`` (tools/tf.py), and with ``clock_url`` its
  ``time.sleep`` moves both clocks forward instead of waiting (a function that
  waits for a deadline costs the test no time): the product code has no test hook;
- ``s3_put_event()`` and ``scheduled_event()`` build events in AWS's exact
  shapes; ``PulseRouter`` delivers S3 events to the function the bucket's
  deployed notification configuration names (prefix and suffix filters
  included), as S3 would.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tools.build_zips import code_sha256

# The bootstrap run in the fresh process: move its clock by argv[4] seconds
# (before anything reads it); with a clock URL in argv[5] (the emulator's), make
# time.sleep move this clock and the emulator's forward instead of waiting: time
# passes for the whole world while the function sleeps, and the test does not
# wait. Then put the zip first on sys.path, import the handler, call it with the
# event from stdin and a minimal context, and write the result (or the error) as
# JSON to the file named by argv[2].
_BOOTSTRAP = r"""
import importlib, json, os, sys, time, traceback, uuid
zip_path, result_path, handler_name = sys.argv[1], sys.argv[2], sys.argv[3]
clock_offset, clock_url = float(sys.argv[4]), sys.argv[5]
if clock_offset or clock_url:
    import time_machine  # the player's, from its virtual environment; never in the zip
    traveller = time_machine.travel(time.time() + clock_offset, tick=True).start()
    time.time()  # anchor: the clock ticks in step with the real one from here
if clock_url:
    import urllib.request

    def travel(seconds):
        if seconds <= 0:
            return
        shift = json.dumps({"shift_seconds": seconds}).encode()
        request = urllib.request.Request(clock_url, data=shift, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
        traveller.shift(seconds)

    time.sleep = travel
# What the player passes for the context only; the function sees the rest.
function_arn = os.environ.pop("PULSE_ECHO_PLAYER_FUNCTION_ARN")
timeout = float(os.environ.pop("PULSE_ECHO_PLAYER_TIMEOUT"))
sys.path.insert(0, zip_path)

class Context:
    def __init__(self):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.invoked_function_arn = function_arn
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = "local/" + self.aws_request_id
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

event = json.loads(sys.stdin.read())
module_name, _, function_name = handler_name.rpartition(".")
try:
    handler = getattr(importlib.import_module(module_name), function_name)
    module_file = sys.modules[module_name].__file__ or ""
    if not module_file.startswith(zip_path):
        raise ImportError(f"{module_name} was imported from {module_file}, not from the deployed zip")
    outcome = {"ok": True, "result": handler(event, Context())}
except Exception as exc:
    outcome = {"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc),
               "stackTrace": traceback.format_exc()}
with open(result_path, "w", encoding="utf-8") as f:
    json.dump(outcome, f, default=str)
"""


@dataclass(frozen=True)
class Invocation:
    """One invocation: ``ok`` and ``result`` (the handler's return value), or the error.

    ``logs`` is what the function wrote to stdout and stderr (its JSON log
    lines); ``elapsed_s`` the wall time including the process start.
    """

    function_name: str
    ok: bool
    result: Any
    error: str | None
    logs: str
    elapsed_s: float

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines the function wrote, parsed (other lines are skipped)."""
        records = []
        for line in self.logs.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                records.append(value)
        return records


class InvocationError(AssertionError):
    """The function raised, timed out, or its code does not match the local zip."""


@dataclass
class DeployedFunction:
    """A function as deployed to the emulator, and the local zip that must be its code."""

    name: str
    arn: str
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    code_sha256: str
    zip_path: Path
    endpoint: str
    region: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fetch(cls, lambda_client: Any, name: str, zip_path: Path, endpoint: str) -> DeployedFunction:
        """Read ``name``'s configuration from the emulator (``lambda:GetFunction``)."""
        config = lambda_client.get_function(FunctionName=name)["Configuration"]
        return cls(
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            handler=config["Handler"],
            runtime=config["Runtime"],
            timeout=int(config["Timeout"]),
            memory_size=int(config["MemorySize"]),
            environment=dict((config.get("Environment") or {}).get("Variables") or {}),
            code_sha256=config["CodeSha256"],
            zip_path=Path(zip_path),
            endpoint=endpoint,
            region=config["FunctionArn"].split(":")[3],
            extra=config,
        )

    def check_code(self) -> None:
        """Raise InvocationError unless the deployed ``CodeSha256`` is the local zip's."""
        local = code_sha256(self.zip_path)
        if local != self.code_sha256:
            raise InvocationError(
                f"{self.name}: deployed CodeSha256 {self.code_sha256} is not that of {self.zip_path} "
                f"({local}); rebuild (make build) and apply again"
            )

    def process_environment(self, credentials: dict[str, str]) -> dict[str, str]:
        """The environment of the function's process: exactly the deployed variables,
        what the Lambda runtime itself sets, dummy ``credentials`` and the emulator endpoint."""
        runtime_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "_HANDLER": self.handler,
        }
        return {
            **runtime_env,
            **credentials,
            **self.environment,
            "AWS_ENDPOINT_URL": self.endpoint,
            "PULSE_ECHO_PLAYER_FUNCTION_ARN": self.arn,
            "PULSE_ECHO_PLAYER_TIMEOUT": str(self.timeout),
        }

    def invoke(
        self,
        event: dict[str, Any],
        credentials: dict[str, str],
        *,
        check: bool = True,
        clock_offset: timedelta = timedelta(0),
        clock_url: str | None = None,
    ) -> Invocation:
        """Run the handler on ``event`` in a fresh process, from the deployed zip.

        ``clock_offset`` (>= 0) moves that process's wall clock forward: pass the
        emulator's ``clock_offset``. With ``clock_url`` (the emulator's clock,
        ``Emulator.clock_url``), the function's ``time.sleep`` moves its clock and the
        emulator's forward instead of waiting (read the emulator's offset again after).
        Raises InvocationError when the code does not match, or (with ``check``) when
        the handler raises or exceeds the deployed timeout.
        """
        if clock_offset < timedelta(0):
            raise ValueError(f"the clock only moves forward (got {clock_offset})")
        self.check_code()
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="pulse-echo-lambda-") as workdir:
            result_path = Path(workdir) / "result.json"
            try:
                completed = subprocess.run(
                    # -I: isolated mode, so neither the working directory nor
                    # PYTHONPATH can shadow the code in the zip.
                    [
                        sys.executable,
                        "-I",
                        "-c",
                        _BOOTSTRAP,
                        str(self.zip_path),
                        str(result_path),
                        self.handler,
                        repr(clock_offset.total_seconds()),
                        clock_url or "",
                    ],
                    input=json.dumps(event),
                    capture_output=True,
                    text=True,
                    cwd=workdir,
                    env=self.process_environment(credentials),
                    timeout=self.timeout + 5,  # plus the interpreter's start
                    check=False,
                )
                logs = completed.stdout + completed.stderr
                outcome = (
                    json.loads(result_path.read_text(encoding="utf-8"))
                    if result_path.exists()
                    else {"ok": False, "errorType": "Runtime.ExitError", "errorMessage": logs[-2000:]}
                )
            except subprocess.TimeoutExpired as exc:
                logs = _text(exc.stdout) + _text(exc.stderr)
                outcome = {
                    "ok": False,
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"timed out after {self.timeout} s",
                }
        error = None
        if not outcome["ok"]:
            error = (
                f"{outcome.get('errorType')}: {outcome.get('errorMessage')}\n{outcome.get('stackTrace', '')}"
            )
        invocation = Invocation(
            function_name=self.name,
            ok=bool(outcome["ok"]),
            result=outcome.get("result"),
            error=error,
            logs=logs,
            elapsed_s=time.monotonic() - started,
        )
        if check and not invocation.ok:
            raise InvocationError(f"{self.name} failed: {invocation.error}\n--- logs ---\n{logs}")
        return invocation


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


# --- events in AWS's shapes ---


def _event_time(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def s3_put_event(
    bucket: str,
    key: str,
    *,
    size: int,
    etag: str,
    region: str,
    configuration_id: str = "pulse-uploaded",
    when: datetime | None = None,
) -> dict[str, Any]:
    """An S3 ``ObjectCreated:Put`` notification for one object, as S3 sends it to Lambda.

    Shape: AWS S3 user guide, "Event message structure" (eventVersion 2.1).
    The key is URL-encoded with ``+`` for spaces, as in real events;
    ``eventTime`` is ``when`` (default: now).
    """
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _event_time(when),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLEHOST"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": base64.b64encode(os.urandom(48)).decode(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": urllib.parse.quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag.strip('"'),
                        "sequencer": f"{time.time_ns():016X}",
                    },
                },
            }
        ]
    }


def scheduled_event(rule_arn: str, *, when: datetime | None = None) -> dict[str, Any]:
    """An EventBridge ``Scheduled Event`` for ``rule_arn`` (EventBridge user guide)."""
    moment = (when or datetime.now(timezone.utc)).astimezone(timezone.utc)
    fields = rule_arn.split(":")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": fields[4],
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": fields[3],
        "resources": [rule_arn],
        "detail": {},
    }


class PulseRouter:
    """Delivers S3 object-created events as the bucket's deployed notification says.

    Reads ``GetBucketNotificationConfiguration`` from the emulator once; for a
    new object, each Lambda configuration whose events and prefix/suffix
    filters match gets an ``ObjectCreated:Put`` event, like S3 would send.
    ``functions`` maps function ARN to DeployedFunction.
    """

    def __init__(self, s3_client: Any, bucket: str, functions: dict[str, DeployedFunction]) -> None:
        self.s3 = s3_client
        self.bucket = bucket
        self.functions = functions
        self.rules = s3_client.get_bucket_notification_configuration(Bucket=bucket).get(
            "LambdaFunctionConfigurations", []
        )

    def targets(self, key: str) -> list[tuple[str, DeployedFunction]]:
        """(configuration id, function) of each notification rule matching ``key``."""
        matches = []
        for rule in self.rules:
            if not any(event in ("s3:ObjectCreated:*", "s3:ObjectCreated:Put") for event in rule["Events"]):
                continue
            filters = {
                item["Name"].lower(): item["Value"]
                for item in rule.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            }
            if key.startswith(filters.get("prefix", "")) and key.endswith(filters.get("suffix", "")):
                matches.append((rule.get("Id", ""), self.functions[rule["LambdaFunctionArn"]]))
        return matches

    def object_created(
        self, key: str, credentials: dict[str, str], *, clock_offset: timedelta = timedelta(0)
    ) -> list[Invocation]:
        """Deliver the event for ``key`` (already in the bucket) to every matching function,
        whose clock is ``clock_offset`` ahead (see DeployedFunction.invoke)."""
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        invocations = []
        for configuration_id, function in self.targets(key):
            event = s3_put_event(
                self.bucket,
                key,
                size=int(head["ContentLength"]),
                etag=head["ETag"],
                region=function.region,
                configuration_id=configuration_id,
                when=head["LastModified"],
            )
            invocations.append(function.invoke(event, credentials, clock_offset=clock_offset))
        return invocations
