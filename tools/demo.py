"""`make demo`: pulse-echo's main job, end to end, on a local AWS emulator.

What it does, narrated as it goes (about a minute):

1. starts a local AWS emulator (moto) and applies the Terraform module to it
   with real Terraform and the real AWS provider (tools/tf.py);
2. starts two monitored "hosts" (web-1, healthy; api-2, whose health endpoint
   starts answering wrongly) and a webhook receiver standing in for Slack, all
   on 127.0.0.1;
3. the hosts send their pulses with `aws s3 cp`, exactly as on a real host;
   the demo plays the Lambda service (tools/lambda_service.py): each upload
   runs check_echo from the deployed zip, with the deployed environment, as
   the bucket's notification says; the schedule runs check_result;
4. shows the pulses, the echoes, the failure record, and the alert and the
   recovery message arriving at the webhook;
5. destroys everything and stops every process it started, also on Ctrl-C
   or an error.

Time is compressed: a host counts as down after 6 seconds without a
successful check (stale_after_minutes = 0.1) instead of 15 minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import tf  # noqa: E402
from tools.httpserver import LocalHttpServer, start_http_server  # noqa: E402
from tools.lambda_service import DeployedFunction, PulseRouter, scheduled_event  # noqa: E402

DEMO_DIR = tf.TOOLCHAIN_DIR / "demo"
BUCKET = "pulse-echo-demo"
STALE_AFTER_MINUTES = 0.1
STALE_SECONDS = STALE_AFTER_MINUTES * 60
BUILD_DIR = ROOT / "build"
WEBHOOK_PATH = "/slack"
TEXT_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}

_started = time.monotonic()


def say(text: str = "") -> None:
    """A line of narration, with the time since the demo started."""
    stamp = f"[{time.monotonic() - _started:5.1f}s]"
    print(f"{stamp} {text}" if text else "", flush=True)


def show(text: str, indent: str = "        ") -> None:
    """Indented detail under the last narration line."""
    for line in text.splitlines():
        print(f"{indent}{line}", flush=True)


def step(title: str) -> None:
    print(flush=True)
    say(f"== {title}")


# --- the demo ---


class Demo:
    def __init__(self) -> None:
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
        self.pulse_dir = Path(tempfile.mkdtemp(prefix="pulse-echo-demo-"))
        self.package_dir = BUILD_DIR

    # -- setup --

    def start(self) -> None:
        step("1. A local AWS and the module applied to it")
        for name in ("check_echo", "check_result"):
            if not (BUILD_DIR / f"{name}.zip").is_file():
                raise SystemExit(
                    f"build/{name}.zip is missing: run `make demo` (it builds them) or `make build`"
                )
        if DEMO_DIR.exists():
            shutil.rmtree(DEMO_DIR)  # state of an earlier run: its emulator is gone
        DEMO_DIR.mkdir(parents=True)
        # Deploy a copy of the zips: a `make build` elsewhere meanwhile cannot make the
        # deployed code and the code run here differ.
        self.package_dir = DEMO_DIR / "build"
        self.package_dir.mkdir()
        for name in ("check_echo", "check_result"):
            shutil.copyfile(BUILD_DIR / f"{name}.zip", self.package_dir / f"{name}.zip")
        self.emulator = tf.Emulator(log_path=DEMO_DIR / "moto_server.log").start()
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
            "lambda_runtime": "python3.8",  # the newest runtime the offline provider (3.39) knows
            "allow_private_targets": True,  # the demo's hosts live on 127.0.0.1
            "force_destroy": True,
            "slack_channel": "#medical-check",
            "slack_username": "medic",
            "slack_icon_emoji": ":exclamation:",
            "tags": {"purpose": "demo"},
            "lambda_package_dir": str(self.package_dir),
        }
        root = tf.write_root(
            DEMO_DIR / "root",
            self.emulator.endpoint,
            "pulse_echo",
            arguments,
            '\noutput "pulse_echo" {\n  value = module.pulse_echo\n}\n',
        )
        say(f"Root module written to {root.relative_to(ROOT)}/main.tf (module source = this repository).")
        self.terraform = tf.Terraform(root)
        say("terraform init (the AWS provider comes from a local mirror)...")
        self.terraform.init()
        say("terraform apply: bucket, notification, two functions, roles, log groups, schedule...")
        self.applied = True  # from here on, destroy at the end even if apply fails half-way
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

    # -- what hosts and Lambda do --

    def send_pulse(self, host: str, quiet: bool = False) -> None:
        """The host uploads its pulse with the AWS CLI; S3 then invokes check_echo."""
        assert self.emulator is not None
        assert self.router is not None
        assert self.hosts is not None
        pulse = {"url": self.hosts.url(f"/{host}/health"), "body": "ok"}
        path = self.pulse_dir / f"{host}.json"
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
        (invocation,) = self.router.object_created(f"pulse/{host}.json", self.emulator.client_environment())
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

    def run_schedule(self, why: str) -> None:
        """EventBridge runs check_result; print what reaches the webhook."""
        assert self.emulator is not None
        assert self.check_result is not None
        assert self.webhook is not None
        say(f"The schedule runs check_result ({why}).")
        invocation = self.check_result.invoke(
            scheduled_event(self.rule_arn), self.emulator.client_environment()
        )
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

    def read_json(self, key: str) -> Any:
        assert self.emulator is not None
        body = self.emulator.boto3_client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return json.loads(body)

    def wait(self, seconds: float, why: str) -> None:
        say(f"(waiting {seconds:.0f} s: {why})")
        time.sleep(seconds)

    # -- the story --

    def story(self) -> None:
        assert self.hosts is not None
        step("2. Both hosts send their pulses; check_echo probes them")
        self.send_pulse("web-1")
        self.send_pulse("api-2")
        self.run_schedule("both hosts were just checked")

        step("3. api-2's health endpoint starts answering wrongly")
        self.hosts.route("/api-2/health", 200, "maintenance", TEXT_PLAIN)
        say('api-2 now answers "maintenance" instead of "ok".')
        self.send_pulse("web-1", quiet=True)
        say("web-1 sends its pulse again: echo refreshed.")
        self.send_pulse("api-2")
        self.wait(
            STALE_SECONDS + 1, f"api-2's last echo becomes older than the {STALE_SECONDS:.0f} s threshold"
        )
        self.send_pulse("web-1", quiet=True)
        say("web-1 keeps pulsing; its echo stays fresh.")
        self.run_schedule("api-2's echo is now stale")

        step("4. The next run does not repeat the alert")
        self.send_pulse("web-1", quiet=True)
        self.run_schedule("api-2 is still down")

        step("5. api-2 is fixed")
        self.hosts.route("/api-2/health", 200, "ok", TEXT_PLAIN)
        say('api-2 answers "ok" again.')
        self.send_pulse("api-2")
        self.send_pulse("web-1", quiet=True)
        self.run_schedule("api-2 has a fresh echo again")

    # -- teardown --

    def stop(self) -> None:
        step("6. Clean up")
        if self.applied and self.terraform is not None and self.emulator is not None:
            try:
                say("terraform destroy...")
                seconds = self.terraform.destroy()
                buckets = self.emulator.boto3_client("s3").list_buckets()["Buckets"]
                functions = self.emulator.boto3_client("lambda").list_functions()["Functions"]
                say(
                    f"Destroyed in {seconds:.0f} s; the emulator now holds {len(buckets)} buckets "
                    f"and {len(functions)} functions."
                )
            except Exception as exc:  # noqa: BLE001 - the emulator goes away anyway; say so and go on
                say(f"terraform destroy failed ({type(exc).__name__}); the emulator is stopped anyway.")
        for stop_server in self.stop_servers:
            stop_server()
        if self.emulator is not None:
            self.emulator.stop()
        shutil.rmtree(self.pulse_dir, ignore_errors=True)
        say("Hosts, webhook receiver and emulator stopped; no process left running.")


def main() -> int:
    print(__doc__.split("\n\n")[0])
    demo = Demo()
    try:
        demo.start()
        demo.story()
    except KeyboardInterrupt:
        print(flush=True)
        say("Interrupted: cleaning up.")
        return 130
    finally:
        demo.stop()
    print(flush=True)
    say("Done. To use the module from your own Terraform, see the README (Usage).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
