"""Try pulse-echo from your own root module on this machine: the project's AWS emulator, kept
running between commands, Terraform with the offline toolchain, and the two functions run
from their deployed zips. The walk-through: docs/local.md.

    python tools/local.py up                   start the emulator (it runs until `down`)
    python tools/local.py provider             print a provider "aws" block for it
    python tools/local.py env                  print the environment for the aws CLI, the
                                               operator tools and your own terraform
    python tools/local.py terraform ARGS...    run Terraform in the current directory with the
                                               offline CLI configuration (TF_INPUT=0: apply
                                               needs -auto-approve)
    python tools/local.py serve [--port N]     in the foreground: a webhook receiver that prints
                                               each alert, and a health URL answering "ok"
    python tools/local.py invoke check_echo s3://BUCKET/pulse/HOST.json
                                               deliver that upload's S3 event to check_echo, as
                                               the bucket's notification says
    python tools/local.py invoke check_result [--test-alert] [--function NAME]
                                               a scheduled run (or the test alert) of check_result
    python tools/local.py tool pulse-status|pulse-pause|pulse-forget ARGS...
                                               an operator tool, on the emulator and its clock
    python tools/local.py clock [+DURATION]    show the emulator's time, or move it forward
                                               (+20m, +2h, +90s; a bare number is minutes)
    python tools/local.py status               is it running, where, at what time
    python tools/local.py down                 stop the emulator: no process is left

Why not a bare `moto_server`: the module's bucket policy denies requests without TLS, moto
applies it and cannot see TLS, so every upload to a bare moto_server answers 403. The
project's emulator (tools/emulator.py) treats that condition as IAM does and has a clock
that `clock` moves. The emulator's pid and port live in .toolchain/local/emulator.json (or
under $PULSE_ECHO_LOCAL_DIR). Exit status: 0 done, 1 failed (one line on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "lambda_src"):  # run as a script: tools/ and the event's home importable
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from check_result.verify import TEST_ALERT_EVENT  # noqa: E402

from tools import tf  # noqa: E402
from tools.build_zips import DIST, code_sha256  # noqa: E402
from tools.emulator import CLOCK_PATH, DUMMY_CREDENTIALS, Emulator  # noqa: E402
from tools.lambda_service import DeployedFunction, Invocation, PulseRouter, scheduled_event  # noqa: E402

PROG = "local.py"
STATE_DIR_ENV = "PULSE_ECHO_LOCAL_DIR"
DEFAULT_SERVE_PORT = 8787


class LocalError(Exception):
    """A failure to report as one line."""


@dataclass(frozen=True)
class Running:
    """The emulator started by `up`: its process and port."""

    pid: int
    port: int
    log: str

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def state_dir() -> Path:
    return Path(os.environ.get(STATE_DIR_ENV) or ROOT / ".toolchain" / "local")


def state_file() -> Path:
    return state_dir() / "emulator.json"


def running() -> Running | None:
    """The emulator `up` started, if it still runs (a state file whose process is gone is removed)."""
    try:
        running = Running(**json.loads(state_file().read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if _alive(running.pid) and _is_emulator(running):
        return running
    state_file().unlink(missing_ok=True)
    return None


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: it exists and (where /proc tells) has not exited unreaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(") ", 1)[1][:1]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _is_emulator(running: Running) -> bool:
    """Whether ``running.pid`` is still our emulator (not a process that reused the pid)."""
    cmdline = Path(f"/proc/{running.pid}/cmdline")
    if cmdline.exists():
        return CLOCK_PATH in cmdline.read_bytes().decode(errors="replace")
    try:
        _clock(running)
    except (OSError, ValueError):
        return False
    return True


def _require() -> Running:
    found = running()
    if found is None:
        raise LocalError(f"no emulator is running: start it with `python {_script()} up`")
    return found


def _script() -> str:
    """This script's path as the user would type it: relative when that is shorter."""
    relative = os.path.relpath(Path(__file__), Path.cwd())
    return min(relative, str(Path(__file__)), key=len)


def _clock(running: Running) -> dict[str, float]:
    """The emulator's clock: ``{"offset_seconds", "now"}``."""
    with urllib.request.urlopen(running.endpoint + CLOCK_PATH, timeout=5) as response:
        return json.loads(response.read())


def _attached(running: Running) -> Emulator:
    """An Emulator object for the running emulator (to shift its clock, to make clients)."""
    emulator = Emulator()
    emulator.port = running.port
    emulator.clock_offset = timedelta(seconds=_clock(running)["offset_seconds"])
    return emulator


# --- commands ---


def up(_: argparse.Namespace) -> None:
    found = running()
    if found is not None:
        print(f"The emulator is already running at {found.endpoint} (pid {found.pid}).")
        return
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    emulator = Emulator(log_path=directory / "moto_server.log").start()
    assert emulator.process is not None
    started = Running(pid=emulator.process.pid, port=emulator.port, log=str(emulator.log_path))
    state_file().write_text(json.dumps(started.__dict__), encoding="utf-8")
    print(f"The emulator is running at {started.endpoint} (pid {started.pid}, log {started.log}).")
    print(f"Next: python {_script()} provider > provider.tf   (in your root module)")


def provider(_: argparse.Namespace) -> None:
    print(tf.emulator_provider_block(_require().endpoint), end="")


def env(_: argparse.Namespace) -> None:
    variables = {
        **_attached(_require()).client_environment(),
        "TF_CLI_CONFIG_FILE": str(tf.ensure_toolchain()),
    }
    for name, value in variables.items():
        print(f"export {name}={shlex.quote(value)}")
    # Last on PATH: the virtual environment's aws CLI, for send-pulse, when there is no other.
    print(f'export PATH="$PATH":{shlex.quote(str(Path(sys.executable).parent))}')


def terraform(arguments: list[str]) -> int:
    if not arguments:
        raise LocalError("name a Terraform command: terraform init, terraform apply -auto-approve, ...")
    code, stdout, stderr = tf.Terraform(Path.cwd()).run(*arguments, ok=tuple(range(256)))
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    return code


def serve(args: argparse.Namespace) -> None:
    from tools.httpserver import start_http_server

    server, stop = start_http_server(port=args.port)

    def received(request: Any) -> None:
        body = request.request_body
        try:
            document = json.loads(body)
            text = document.get("text") if isinstance(document, dict) and "schema" not in document else None
            shown = text if isinstance(text, str) else json.dumps(document, indent=2, ensure_ascii=False)
        except ValueError:
            shown = body.decode(errors="replace")
        print(f"--- alert received at {datetime.now(timezone.utc):%H:%M:%S}Z ---\n{shown}", flush=True)
        request.send_response(200)
        request.send_header("Content-Length", "2")
        request.end_headers()
        request.wfile.write(b"ok")

    print(f"webhook: {server.route('/hook', handler=received)}", flush=True)
    print(f"health:  {server.route('/health', 200, 'ok')}", flush=True)
    print("Ctrl-C stops it.", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stop()


def invoke(args: argparse.Namespace) -> int:
    emulator = _attached(_require())
    if args.function_kind == "check_echo":
        if args.test_alert:
            raise LocalError("--test-alert is check_result's")
        invocations = _deliver_upload(emulator, args.key)
    else:
        invocations = [_run_check_result(emulator, args.function, test_alert=args.test_alert)]
    for invocation in invocations:
        _report(invocation)
    return 0 if all(invocation.ok for invocation in invocations) else 1


def _deliver_upload(emulator: Emulator, url: str | None) -> list[Invocation]:
    match = re.fullmatch(r"s3://([^/]+)/(.+)", url or "")
    if match is None:
        raise LocalError("give the uploaded object as s3://BUCKET/pulse/HOST.json")
    bucket, key = match.groups()
    s3, lambda_client = emulator.boto3_client("s3"), emulator.boto3_client("lambda")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:  # noqa: BLE001 - said in one line
        raise LocalError(f"s3://{bucket}/{key} is not in the emulator ({exc}): upload it first") from None
    rules = s3.get_bucket_notification_configuration(Bucket=bucket).get("LambdaFunctionConfigurations", [])
    functions = {}
    for arn in {rule["LambdaFunctionArn"] for rule in rules}:
        name = arn.split(":")[6]
        functions[arn] = _function(lambda_client, name, emulator.endpoint)
    router = PulseRouter(s3, bucket, functions)
    if not router.targets(key):
        raise LocalError(f"no notification of s3://{bucket} matches {key} (check_echo takes pulse/*.json)")
    return router.object_created(key, DUMMY_CREDENTIALS, clock_offset=emulator.clock_offset)


def _run_check_result(emulator: Emulator, name: str | None, *, test_alert: bool) -> Invocation:
    lambda_client, events = emulator.boto3_client("lambda"), emulator.boto3_client("events")
    if name is None:
        names = [
            item["FunctionName"]
            for page in lambda_client.get_paginator("list_functions").paginate()
            for item in page["Functions"]
            if item["FunctionName"].endswith("-check-result")
        ]
        if len(names) != 1:
            raise LocalError(
                f"{len(names)} check_result functions ({', '.join(names)}): pick one with --function"
            )
        name = names[0]
    function = _function(lambda_client, name, emulator.endpoint)
    if test_alert:
        event: dict[str, Any] = dict(TEST_ALERT_EVENT)
    else:
        rules = events.list_rule_names_by_target(TargetArn=function.arn)["RuleNames"]
        if not rules:
            raise LocalError(f"no EventBridge rule targets {name}")
        event = scheduled_event(events.describe_rule(Name=rules[0])["Arn"], when=emulator.now())
    return function.invoke(event, DUMMY_CREDENTIALS, check=False, clock_offset=emulator.clock_offset)


def _function(lambda_client: Any, name: str, endpoint: str) -> DeployedFunction:
    """``name`` as deployed, with the local zip that is its code: the module's dist/, or one
    Terraform fetched into ``.terraform/modules`` of the current directory (a git:: source)."""
    deployed = lambda_client.get_function(FunctionName=name)["Configuration"]
    handler_package = deployed["Handler"].split(".")[0]
    candidates = [
        DIST / f"{handler_package}.zip",
        *Path.cwd().glob(f".terraform/modules/**/{handler_package}.zip"),
    ]
    for candidate in candidates:
        if candidate.is_file() and code_sha256(candidate) == deployed["CodeSha256"]:
            return DeployedFunction.fetch(lambda_client, name, candidate, endpoint)
    raise LocalError(
        f"{name}: no zip here has its deployed code (CodeSha256 {deployed['CodeSha256']}); "
        "run this from the root module you applied"
    )


def _report(invocation: Invocation) -> None:
    print(
        f"== {invocation.function_name}: {'ok' if invocation.ok else 'FAILED'} ({invocation.elapsed_s:.1f} s)"
    )
    for record in invocation.log_records():
        fields = {key: value for key, value in record.items() if key not in ("level", "logger")}
        print(f"   log: {json.dumps(fields, ensure_ascii=False)}")
    if invocation.ok:
        print(f"   result: {json.dumps(invocation.result, ensure_ascii=False)}")
    else:
        print(f"   error: {(invocation.error or '').strip()}")


def tool(arguments: list[str]) -> int:
    """Run an operator tool (pyproject's [project.scripts]) in this process, with the
    emulator's environment and its clock: the tools read the time from the machine."""
    import importlib

    import time_machine

    scripts = _project_scripts()
    if not arguments or arguments[0] not in scripts:
        raise LocalError(f"name an operator tool: {', '.join(sorted(scripts))}")
    emulator = _attached(_require())
    os.environ.update(emulator.client_environment())
    module, _, function = scripts[arguments[0]].partition(":")
    with time_machine.travel(emulator.now(), tick=True):
        return int(getattr(importlib.import_module(module), function)(arguments[1:]) or 0)


def _project_scripts() -> dict[str, str]:
    """pyproject.toml's [project.scripts]: command -> "module:function"."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = re.search(r"^\[project\.scripts\]\n(.*?)(?:^\[|\Z)", text, re.M | re.S)
    return dict(re.findall(r'^([\w-]+)\s*=\s*"([\w.]+:\w+)"', table[1] if table else "", re.M))


DURATION = re.compile(r"\+?(\d+(?:\.\d+)?)([smhd]?)")
UNIT_SECONDS = {"s": 1, "m": 60, "": 60, "h": 3600, "d": 86400}


def clock(args: argparse.Namespace) -> None:
    emulator = _attached(_require())
    if args.shift is not None:
        match = DURATION.fullmatch(args.shift)
        if match is None:
            raise LocalError(f"{args.shift!r} is not a duration: +20m, +2h, +90s, or minutes (+20)")
        emulator.shift_clock(timedelta(seconds=float(match[1]) * UNIT_SECONDS[match[2]]))
    offset = emulator.clock_offset
    print(
        f"The emulator's time: {emulator.now():%Y-%m-%dT%H:%M:%SZ} "
        f"({_duration(offset)} ahead of this machine's)"
    )


def _duration(delta: timedelta) -> str:
    minutes, seconds = divmod(int(delta.total_seconds()), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def status(_: argparse.Namespace) -> None:
    found = running()
    if found is None:
        print(f"No emulator is running (state: {state_file()}).")
        return
    offset = timedelta(seconds=_clock(found)["offset_seconds"])
    print(f"The emulator is running at {found.endpoint} (pid {found.pid}; clock {_duration(offset)} ahead).")


def down(_: argparse.Namespace) -> None:
    found = running()
    if found is None:
        print("No emulator is running.")
        return
    os.kill(found.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _alive(found.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(found.pid):
        os.kill(found.pid, signal.SIGKILL)
    state_file().unlink(missing_ok=True)
    print(f"The emulator (pid {found.pid}) is stopped; everything it held is gone.")


# --- command line ---


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Try pulse-echo from your own root module on a local AWS emulator (docs/local.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("up", help="start the emulator; it runs until `down`").set_defaults(run=up)
    commands.add_parser("provider", help='print a provider "aws" block for it').set_defaults(run=provider)
    commands.add_parser("env", help="print export lines for the aws CLI, the tools, terraform").set_defaults(
        run=env
    )
    # Only for --help: main() passes everything after `terraform` (`tool`) on as it is.
    commands.add_parser("terraform", help="run Terraform here with the offline configuration")
    commands.add_parser("tool", help="run an operator tool (pulse-status...) on the emulator and its clock")
    command = commands.add_parser("serve", help="a webhook receiver and a health URL, in the foreground")
    command.add_argument("--port", type=int, default=DEFAULT_SERVE_PORT)
    command.set_defaults(run=serve)
    command = commands.add_parser("invoke", help="run check_echo or check_result from its deployed zip")
    command.add_argument("function_kind", choices=["check_echo", "check_result"])
    command.add_argument("key", nargs="?", metavar="s3://BUCKET/pulse/HOST.json", help="check_echo's upload")
    command.add_argument(
        "--test-alert", action="store_true", help='check_result: {"pulse_echo": "test_alert"}'
    )
    command.add_argument("--function", metavar="NAME", help="check_result: which one, when there are several")
    command.set_defaults(run=invoke)
    command = commands.add_parser("clock", help="show the emulator's time, or move it forward")
    command.add_argument("shift", nargs="?", metavar="+DURATION")
    command.set_defaults(run=clock)
    commands.add_parser("status", help="is it running").set_defaults(run=status)
    commands.add_parser("down", help="stop the emulator").set_defaults(run=down)
    return parser


def main(argv: list[str]) -> int:
    if argv[:1] == ["terraform"]:
        command = lambda: terraform(argv[1:])  # noqa: E731 - Terraform's own options, untouched
    elif argv[:1] == ["tool"]:
        command = lambda: tool(argv[1:])  # noqa: E731 - the tool's own options, untouched
    else:
        args = parser().parse_args(argv)
        command = lambda: args.run(args)  # noqa: E731
    try:
        return int(command() or 0)
    except (LocalError, tf.TerraformError, tf.ToolchainError, OSError, RuntimeError) as exc:
        print(f"{PROG}: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
