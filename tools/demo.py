"""`make demo`: pulse-echo's main job, end to end, on a local AWS emulator.

What it does, narrated as it goes:

1. starts a local AWS emulator (moto) and applies the Terraform module to it
   with real Terraform and the real AWS provider (tools/tf.py), with the
   module's own settings: a host is down after 15 minutes without a
   successful check, check_result runs every minute (the story shows one
   run every 10 minutes, when the hosts pulse);
2. starts two monitored "hosts" (web-1, healthy; api-2, whose health endpoint
   starts answering wrongly) and a webhook receiver standing in for Slack, all
   on 127.0.0.1; beside them nas-3, a host with no HTTP service that sends
   heartbeats until it goes silent (the dead man's switch itself), and a
   nightly backup job wrapped by send-pulse, which fails once;
3. the hosts send their pulses with `aws s3 cp` or `scripts/send-pulse`,
   exactly as on a real host; the demo plays the Lambda service
   (tools/lambda_service.py): each upload runs check_echo from the deployed
   zip, with the deployed environment, as the bucket's notification says; the
   schedule runs check_result;
4. shows the pulses, the echoes, the failure record, the alert and the
   recovery message arriving at the webhook, and what ``pulse-status`` shows
   the operator at the moment of the alert;
5. destroys everything and stops every process it started, also on Ctrl-C
   or an error.

The story covers 40 minutes of a deployment's life and runs in about a
minute: when it says "10 minutes later", the clocks of the emulator and of the
functions jump forward 10 minutes (Emulator.shift_clock); nothing waits for
real time. Each run works in its own temporary directory with its own
emulator, so several can run at once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import tf  # noqa: E402
from tools.httpserver import LocalHttpServer, start_http_server  # noqa: E402
from tools.lambda_service import DeployedFunction, PulseRouter, scheduled_event  # noqa: E402

BUCKET = "pulse-echo-demo"
PACKAGE_DIR = ROOT / "dist"  # the module's own zips, as every user deploys them
WEBHOOK_PATH = "/slack"
TEXT_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}
STALE_AFTER_MINUTES = 15  # the module's defaults: the demo shows them, not settings made for it
INTERVAL = timedelta(minutes=10)  # how often the hosts send pulses, and the story runs check_result
STORY_MINUTES = 40

INTRO = f"""pulse-echo demo: the module applied to a local AWS emulator, hosts and a job, alerts, recoveries.
Time: the story covers {STORY_MINUTES} minutes (a host is down after {STALE_AFTER_MINUTES} minutes \
without a successful check,
check_result runs every {INTERVAL.seconds // 60} minutes) and runs in about a minute: at each \
"{INTERVAL.seconds // 60} minutes later" the emulator's
and the functions' clocks jump forward; nothing else is sped up. Ctrl-C stops it and cleans up."""

_started = time.monotonic()


def say(text: str = "") -> None:
    """A line of narration, with the (real) time since the demo started."""
    stamp = f"[{time.monotonic() - _started:5.1f}s]"
    print(f"{stamp} {text}" if text else "", flush=True)


def show(text: str, indent: str = "        ") -> None:
    """Indented detail under the last narration line."""
    for line in text.splitlines():
        print(f"{indent}{line}", flush=True)


def step(title: str) -> None:
    print(flush=True)
    say(f"== {title}")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, already acknowledged on the terminal (see on_sigint)."""


def on_sigint(_signum: int, _frame: FrameType | None) -> None:
    """Say at once that Ctrl-C was heard, then unwind to the clean-up.

    Terraform, in a child process of the same process group, got the signal
    too and stops at a safe point; Terraform.run waits for it.
    """
    signal.signal(signal.SIGINT, on_second_sigint)
    print(flush=True)
    say("Interrupted: stopping, then destroying what was applied and stopping every process...")
    raise Interrupted


def on_second_sigint(_signum: int, _frame: FrameType | None) -> None:
    say("Still cleaning up (a few seconds); the emulator and the servers are stopped in any case.")


# --- the demo ---


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.emulator: tf.Emulator | None = None
        self.terraform: tf.Terraform | None = None
        self.applied = False
        self.hosts: LocalHttpServer | None = None  # the hosts' health endpoints
        self.webhook: LocalHttpServer | None = None  # the receiver standing in for Slack
        self.stop_servers: list[Callable[[], None]] = []
        self.outputs: dict[str, Any] = {}
        self.router: PulseRouter | None = None
        self.check_result: DeployedFunction | None = None
        self.rule_arn = ""
        self.alerts_seen = 0
        self.package_dir = workdir / "build"

    # -- setup --

    def start(self) -> None:
        step("1. A local AWS and the module applied to it")
        # Deploy a copy of the zips: a `make build` elsewhere meanwhile cannot make the
        # deployed code and the code run here differ.
        self.package_dir.mkdir()
        for name in ("check_echo", "check_result"):
            shutil.copyfile(PACKAGE_DIR / f"{name}.zip", self.package_dir / f"{name}.zip")
        self.emulator = tf.Emulator(log_path=self.workdir / "moto_server.log")
        self.emulator.start()  # assigned first: a Ctrl-C while it starts still stops it
        say(f"AWS emulator (moto) listening on {self.emulator.endpoint}; nothing here reaches real AWS.")

        self.hosts, stop_hosts = start_http_server()
        self.stop_servers.append(stop_hosts)
        self.webhook, stop_webhook = start_http_server()
        self.stop_servers.append(stop_webhook)
        self.webhook.route(WEBHOOK_PATH, 200, "ok")  # what Slack answers
        self.hosts.route("/web-1/health", 200, "ok", TEXT_PLAIN)
        self.hosts.route("/api-2/health", 200, "ok", TEXT_PLAIN)
        say("Two monitored hosts answer on 127.0.0.1: web-1 and api-2, both healthy for now.")
        say(f"A webhook receiver stands in for Slack at {self.webhook.url(WEBHOOK_PATH)}.")

        arguments = {
            "bucket_name": BUCKET,
            "alert_webhook_url": self.webhook.url(WEBHOOK_PATH),
            "stale_after_minutes": STALE_AFTER_MINUTES,
            "allow_private_targets": True,  # the demo's hosts live on 127.0.0.1
            "force_destroy": True,
            "slack_channel": "#medical-check",
            "slack_username": "medic",
            "slack_icon_emoji": ":exclamation:",
            "tags": {"purpose": "demo"},
            "lambda_package_dir": str(self.package_dir),
        }
        root = tf.write_root(
            self.workdir / "root",
            self.emulator.endpoint,
            "pulse_echo",
            arguments,
            '\noutput "pulse_echo" {\n  value = module.pulse_echo\n}\n',
        )
        say(f"Root module written to {root}/main.tf (module source = this repository).")
        self.terraform = tf.Terraform(root)
        mirror = tf.provider_mirror()
        origin = f"the local mirror {mirror}" if mirror else "the registry"
        say(f"terraform init (hashicorp/aws {tf.AWS_PROVIDER_VERSION} from {origin})...")
        self.terraform.init()
        say("terraform apply: bucket, notification, two functions, roles, log groups, schedule, alarms...")
        self.applied = True  # from here on, destroy at the end even if apply stops half-way
        seconds = self.terraform.apply()
        self.outputs = self.terraform.outputs()["pulse_echo"]
        events = self.emulator.boto3_client("events")
        rule = events.describe_rule(Name=self.outputs["schedule_rule_name"])
        self.rule_arn = rule["Arn"]
        say(f"Applied in {seconds:.0f} s. Resources in the emulator:")
        show(
            f"bucket        {self.outputs['bucket_name']}\n"
            f"check_echo    {self.outputs['check_echo_function_name']} (runs on each upload to pulse/)\n"
            f"check_result  {self.outputs['check_result_function_name']}"
            f" (runs on the schedule, {rule['ScheduleExpression']})\n"
            f"host policy   s3:PutObject on pulse/* only (output pulse_writer_policy_json)"
        )

        # Play the Lambda service from what is deployed.
        lambda_client = self.emulator.boto3_client("lambda")
        echo = DeployedFunction.fetch(
            lambda_client,
            self.outputs["check_echo_function_name"],
            self.package_dir / "check_echo.zip",
            self.emulator.endpoint,
        )
        self.check_result = DeployedFunction.fetch(
            lambda_client,
            self.outputs["check_result_function_name"],
            self.package_dir / "check_result.zip",
            self.emulator.endpoint,
        )
        echo.check_code()
        self.check_result.check_code()
        self.router = PulseRouter(self.emulator.boto3_client("s3"), BUCKET, {echo.arn: echo})
        say(
            "The emulator stores the functions but cannot run them, so this demo plays Lambda: it runs\n"
            "        each function from its deployed zip (CodeSha256 checked) in a fresh Python process\n"
            "        with the deployed environment, when S3 or the schedule would."
        )

    # -- what hosts, Lambda and the clock do --

    def send_pulse(self, host: str, quiet: bool = False) -> None:
        """The host uploads its pulse with the AWS CLI; S3 then invokes check_echo."""
        assert self.emulator is not None
        assert self.router is not None
        assert self.hosts is not None
        pulse = {"url": self.hosts.url(f"/{host}/health"), "body": "ok"}
        path = self.workdir / f"{host}.json"
        path.write_text(json.dumps(pulse), encoding="utf-8")
        command = [
            str(Path(sys.executable).parent / "aws"),
            "s3",
            "cp",
            str(path),
            f"s3://{BUCKET}/pulse/{host}.json",
        ]
        if not quiet:
            say(f"{host} sends its pulse:  aws s3 cp {host}.json s3://{BUCKET}/pulse/{host}.json")
            show(json.dumps(pulse))
        subprocess.run(
            command,
            check=True,
            capture_output=True,
            env={**os.environ, **self.emulator.client_environment()},
            timeout=60,
        )
        (invocation,) = self.router.object_created(
            f"pulse/{host}.json", self.emulator.client_environment(), clock_offset=self.emulator.clock_offset
        )
        (result,) = invocation.result["results"]
        if quiet:
            return
        if result["outcome"] == "echo":
            echo = self.read_json(f"echo/{host}.json")
            say(f"check_echo probed {pulse['url']}: the answer matched, so it wrote echo/{host}.json:")
            show(json.dumps(echo))
        else:
            failure = self.read_json(f"failure/{host}.json")
            say(
                f"check_echo probed {pulse['url']}: {result['reason']}. "
                f"No echo; it wrote failure/{host}.json:"
            )
            show(json.dumps(failure, ensure_ascii=False))

    def send_pulse_tool(self, host: str, *args: str, quiet: bool = False) -> None:
        """The host runs scripts/send-pulse (POSIX sh and the AWS CLI); S3 then invokes check_echo."""
        assert self.emulator is not None
        assert self.router is not None
        command = [str(ROOT / "scripts" / "send-pulse"), "--bucket", BUCKET, "--host", host, *args]
        if not quiet:
            shown = " ".join(a if " " not in a and "'" not in a else repr(a) for a in command[1:])
            say(f"{host} runs:  send-pulse {shown}")
        env = {**os.environ, **self.emulator.client_environment()}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
        if not quiet and done.stdout.strip():
            show(done.stdout.rstrip(), indent="        > ")
        if not quiet and done.stderr.strip():
            show(done.stderr.rstrip(), indent="        > ")
        (invocation,) = self.router.object_created(
            f"pulse/{host}.json", self.emulator.client_environment(), clock_offset=self.emulator.clock_offset
        )
        (result,) = invocation.result["results"]
        if quiet:
            return
        written = "echo" if result["outcome"] == "echo" else "failure"
        record = self.read_json(f"{written}/{host}.json")
        say(f"send-pulse exited {done.returncode}; check_echo wrote {written}/{host}.json:")
        show(json.dumps(record, ensure_ascii=False))

    def run_schedule(self, why: str) -> None:
        """EventBridge runs check_result; print what reaches the webhook."""
        assert self.emulator is not None
        assert self.check_result is not None
        assert self.webhook is not None
        say(f"The schedule runs check_result ({why}).")
        try:
            invocation = self.check_result.invoke(
                scheduled_event(self.rule_arn, when=self.emulator.now()),
                self.emulator.client_environment(),
                clock_offset=self.emulator.clock_offset,
                clock_url=self.emulator.clock_url,  # a wait for a deadline moves the clocks instead
            )
        finally:
            self.emulator.read_clock()
        summary = invocation.result
        statuses = ", ".join(f"{n} {s}" for s, n in summary.get("statuses", {}).items() if n)
        received = [r.json() for r in self.webhook.requests_to(WEBHOOK_PATH) if r.method == "POST"]
        posts = received[self.alerts_seen :]
        self.alerts_seen += len(posts)
        if not posts:
            say(f"Hosts: {statuses or 'none'}. Nothing changed, so nothing is sent.")
            return
        for post in posts:
            say(
                f"Hosts: {statuses}. The webhook received a message for {post.get('channel')} "
                f"from {post.get('username')} {post.get('icon_emoji')}:"
            )
            show(post["text"], indent="        | ")

    def pulse_status(self) -> None:
        """What the operator sees at this moment: scripts/pulse-status, run as a user would, on
        the emulator at the story's time (its hidden --now)."""
        assert self.emulator is not None
        now = self.emulator.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        say(f"Meanwhile the operator runs:  pulse-status --bucket {BUCKET}")
        result = subprocess.run(
            [str(ROOT / "scripts" / "pulse-status"), "--bucket", BUCKET, "--now", now],
            capture_output=True,
            text=True,
            env={**os.environ, **self.emulator.client_environment()},
            timeout=60,
            check=True,
        )
        show(result.stdout.rstrip(), indent="        | ")

    def later(self, title: str) -> None:
        """A new step, ``INTERVAL`` later: the emulator's and the functions' clocks jump."""
        assert self.emulator is not None
        offset = self.emulator.shift_clock(INTERVAL)
        step(f"{title} (story time: +{int(offset.total_seconds() // 60)} min)")
        say(f"{INTERVAL.seconds // 60} minutes later: the hosts send their pulses (cron, every 10 minutes).")

    def read_json(self, key: str) -> Any:
        assert self.emulator is not None
        body = self.emulator.boto3_client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return json.loads(body)

    # -- the story --

    def story(self) -> None:
        assert self.hosts is not None
        step("2. The hosts send their pulses; check_echo checks them (story time: +0 min)")
        self.send_pulse("web-1")
        self.send_pulse("api-2")
        say("nas-3 has no HTTP service: it sends a heartbeat, and the upload itself is the success.")
        self.send_pulse_tool("nas-3")
        say(
            "The nightly backup runs wrapped by send-pulse, which reports its result "
            "(its own threshold: 25 h)."
        )
        self.send_pulse_tool(
            "backup", "--stale-after-minutes", "1500", "--", "sh", "-c", 'echo "backup done: 12 GB"'
        )
        self.run_schedule("every host was just checked")

        print(flush=True)
        say('api-2\'s health endpoint starts answering "maintenance" instead of "ok".')
        self.hosts.route("/api-2/health", 200, "maintenance", TEXT_PLAIN)
        say("nas-3 loses its power: no more heartbeats, and nothing else tells anyone.")

        self.later("3. The backup fails: an alert at once; api-2 fails its check, but is not down yet")
        self.send_pulse("web-1", quiet=True)
        say("web-1 sends its pulse: echo refreshed.")
        self.send_pulse("api-2")
        say("The backup is run again by hand, and fails.")
        self.send_pulse_tool(
            "backup",
            "--stale-after-minutes",
            "1500",
            "--",
            "sh",
            "-c",
            'echo "rsync: write failed: No space left on device (28)" >&2; exit 2',
        )
        self.run_schedule(
            f"the job reported its failure; api-2's and nas-3's last echoes are 10 minutes old, under the "
            f"{STALE_AFTER_MINUTES}-minute threshold"
        )

        self.later("4. api-2 and nas-3 are down: one alert for both")
        self.send_pulse("web-1", quiet=True)
        self.send_pulse("api-2", quiet=True)
        say("web-1's pulse passes; api-2's fails again; nothing from nas-3.")
        self.run_schedule(
            f"api-2's and nas-3's last echoes are now 20 minutes old: over {STALE_AFTER_MINUTES} minutes"
        )
        self.pulse_status()

        self.later("5. The next run does not repeat the alert")
        self.send_pulse("web-1", quiet=True)
        self.send_pulse("api-2", quiet=True)
        self.run_schedule("api-2, nas-3 and the backup are still down")

        print(flush=True)
        say('api-2 is fixed: it answers "ok" again; the disk is cleaned up and the backup runs again.')
        self.hosts.route("/api-2/health", 200, "ok", TEXT_PLAIN)

        self.later("6. api-2 and the backup are back: one recovery message; nas-3 stays down")
        self.send_pulse("web-1", quiet=True)
        self.send_pulse("api-2")
        self.send_pulse_tool(
            "backup", "--stale-after-minutes", "1500", "--", "sh", "-c", 'echo "backup done: 12 GB"'
        )
        self.run_schedule("api-2 has a fresh echo, the backup reported success")

    # -- teardown --

    def stop(self) -> None:
        step("7. Clean up")
        if self.applied and self.terraform is not None and self.emulator is not None:
            try:
                # Provider 5.x's force_destroy can loop on moto for some keys: empty it first.
                self.emulator.empty_bucket(BUCKET)
                say("terraform destroy...")
                seconds = self.terraform.destroy()
                buckets = self.emulator.boto3_client("s3").list_buckets()["Buckets"]
                functions = self.emulator.boto3_client("lambda").list_functions()["Functions"]
                say(
                    f"Destroyed in {seconds:.0f} s; the emulator now holds {len(buckets)} buckets "
                    f"and {len(functions)} functions."
                )
            except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the emulator goes away anyway
                say(f"terraform destroy did not finish ({type(exc).__name__}); stopping the emulator anyway.")
        for stop_server in self.stop_servers:
            stop_server()
        if self.emulator is not None:
            self.emulator.stop()
        say("Hosts, webhook receiver and emulator stopped; no process left running.")


def main() -> int:
    print(INTRO, flush=True)
    missing = [name for name in ("check_echo", "check_result") if not (PACKAGE_DIR / f"{name}.zip").is_file()]
    if missing:
        print(f"dist/{missing[0]}.zip is missing: run `make demo` (it builds them)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGINT, on_sigint)
    workdir = Path(tempfile.mkdtemp(prefix="pulse-echo-demo-"))
    demo = Demo(workdir)
    status = 1  # until the story ends or Ctrl-C: an error keeps the files and shows its traceback
    try:
        demo.start()
        demo.story()
        status = 0
    except Interrupted:
        status = 130
    finally:
        signal.signal(signal.SIGINT, on_second_sigint)
        demo.stop()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if status == 1:
            say(f"The demo failed; its files (root module, emulator log) are kept in {workdir}.")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if status == 0:
        print(flush=True)
        say("Done. The same from a root module of your own: docs/local.md; on AWS: the README (Usage).")
    return status


if __name__ == "__main__":
    sys.exit(main())
