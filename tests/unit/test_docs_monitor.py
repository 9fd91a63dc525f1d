"""docs/monitor.md, "What to monitor": every recipe is run for real and its output is the page's.

One story, on a fixed clock, in one bucket of an S3 emulator served over HTTP
(moto's ThreadedMotoServer, in this process, so that its clock is the story's):

- each host runs the real ``scripts/send-pulse`` (POSIX sh, awk, the AWS CLI)
  in a subprocess, as from cron; send-pulse reads the time of day through
  awk's ``srand()``, so ``awk`` on its PATH is a shim that pins that time
  to the story's (a job "runs" 12m 34s without the test waiting);
- each upload runs check_echo's handler on the S3 event, probing endpoints
  served on 127.0.0.1 (the page shows them as ``https://<host>.example.com``:
  the one substitution made in the output);
- check_result runs at the story's times and posts to a webhook receiver;
  ``pulse-pause`` and ``pulse-status`` run as commands (their ``main``).

``PYTHONPATH=lambda_src:. .venv/bin/python tests/unit/test_docs_monitor.py``
prints the page's blocks.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

if __name__ == "__main__":  # run as a script: make the packages importable
    sys.path[:0] = [str(Path(__file__).resolve().parents[2] / "lambda_src"), str(Path(__file__).parents[2])]

import time_machine
from check_echo import handler as check_echo
from check_result import handler as check_result
from pulse_echo.times import isoformat
from pulse_echo_cli import pause as pulse_pause
from pulse_echo_cli import status as pulse_status

from tools.httpserver import start_http_server
from tools.lambda_service import s3_put_event

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "monitor.md"
BUCKET = "my-pulse-echo-bucket"
HOOK = "/services/T0000/B0000/monitor"
REGION = "us-east-1"
STORY = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
LAST_NIGHT = datetime(2025, 12, 31, 2, 30, tzinfo=timezone.utc)
TONIGHT = datetime(2026, 1, 1, 2, 30, tzinfo=timezone.utc)
BACKUP_RUNS = timedelta(minutes=12, seconds=34)
CLOCK_MARKER = "srand(); now = srand()"
AWK_SHIM = """#!{python}
# awk for send-pulse in tests/unit/test_docs_monitor.py: the time of day its TIME_AWK reads
# (awk's srand()) is the next line of $PULSE_ECHO_TEST_CLOCK; anything else is the real awk.
import os, sys
args = sys.argv[1:]
clock = os.environ.get("PULSE_ECHO_TEST_CLOCK")
if clock and any({marker!r} in arg for arg in args):
    with open(clock) as file:
        times = file.read().split()
    with open(clock, "w") as file:
        file.write("\\n".join(times[1:] or times))
    args = [arg.replace({marker!r}, "now = " + times[0]) for arg in args]
os.execv({awk!r}, [{awk!r}, *args])
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Story:
    """The bucket, the endpoints, the webhook and the clock of the story; see the module docstring."""

    def __init__(self, workdir: Path, traveller: time_machine.Coordinates, endpoint: str) -> None:
        self.workdir, self.traveller, self.endpoint = workdir, traveller, endpoint
        self.sites, self.stop_sites = start_http_server()
        self.sites.route(HOOK, 200, "ok")
        self.clock = workdir / "clock"
        self.bin = workdir / "bin"
        self.bin.mkdir()
        awk = shutil.which("awk") or "/usr/bin/awk"
        shim = self.bin / "awk"
        shim.write_text(
            AWK_SHIM.format(python=sys.executable, marker=CLOCK_MARKER, awk=awk), encoding="utf-8"
        )
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
        job = self.bin / "backup.sh"  # what the nightly backup prints, and how it ends
        job.write_text("#!/bin/sh\n" + "\n".join(BACKUP_SCRIPT) + "\n", encoding="utf-8")
        job.chmod(job.stat().st_mode | stat.S_IXUSR)
        self.posts_seen = 0

    def url(self, host: str, path: str) -> str:
        return self.sites.url(f"/{host}{path}")

    def shown(self, text: str) -> str:
        """``text`` with the endpoints' local address shown as the hosts' own."""
        base = self.sites.url("/")
        for host in ("api-1", "intranet", "web-1", "db-1", "db-2"):
            text = text.replace(f"{base}{host}", f"https://{host}.example.com")
        return text

    def at(self, moment: datetime) -> None:
        self.traveller.move_to(moment)

    def send_pulse(self, *args: str, times: tuple[datetime, ...] = (), **extra: str) -> str:
        """Run scripts/send-pulse ARGS at the story's time (``times``: what it reads as the time of
        day, in turn; ``extra``: more environment), then check_echo on its upload; returns the
        command line as shown."""
        now = datetime.now(timezone.utc)
        self.clock.write_text("\n".join(str(int(t.timestamp())) for t in times or (now,)), encoding="utf-8")
        env = {
            "PATH": f"{self.bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_CONFIG_FILE": str(self.workdir / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.workdir / "no-credentials"),
            "PULSE_ECHO_TEST_CLOCK": str(self.clock),
            **extra,
        }
        command = [str(ROOT / "scripts" / "send-pulse"), "--bucket", BUCKET, *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        host = args[args.index("--host") + 1]
        assert done.stderr == "" or "--" in args, done.stderr
        key = f"pulse/{host}.json"
        head = self.s3.head_object(Bucket=BUCKET, Key=key)
        event = s3_put_event(BUCKET, key, size=head["ContentLength"], etag=head["ETag"], region=REGION)
        (result,) = check_echo.handler(event, None)["results"]
        assert result["outcome"] in ("echo", "failed"), result
        return self.shown("$ send-pulse " + " ".join(quoted(arg) for arg in command[1:]))

    def check_result(self) -> list[str]:
        """One check_result run at the story's time; the lines of the Slack message it posted."""
        check_result.run(
            check_result.Config.from_env(), s3=self.s3, now=datetime.now(timezone.utc), run_id="story"
        )
        posts = [r.json() for r in self.sites.requests_to(HOOK)][self.posts_seen :]
        self.posts_seen += len(posts)
        return [self.shown(line) for post in posts for line in post["text"].splitlines()]

    def tool(self, module: object, name: str, *args: str) -> str:
        """A tool's main at the story's time (its hidden --now); ``$ name ARGS`` and its output."""
        out, err = io.StringIO(), io.StringIO()
        argv = ["--bucket", BUCKET, *args, "--now", isoformat(datetime.now(timezone.utc))]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = module.main(argv)  # type: ignore[attr-defined]
        assert (code, err.getvalue()) == (0, ""), err.getvalue()
        return self.shown(f"$ {name} --bucket {BUCKET} {' '.join(quoted(a) for a in args)}\n{out.getvalue()}")


BACKUP_SCRIPT = [
    "exec >&2  # one stream: its lines reach send-pulse in order",
    'echo "sending incremental file list"',
    '[ "${BACKUP_EXIT:-11}" = 0 ] && echo "sent 12.4G bytes  received 2.1K bytes" && exit 0',
    'echo "rsync: write failed on \\"/backup/db.dump\\": No space left on device (28)"',
    'echo "rsync error: error in file IO (code 11) at receiver.c(378) [receiver=3.2.7]"',
    'exit "${BACKUP_EXIT:-11}"',
]


def quoted(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./:=@" for c in arg) else "'" + arg + "'"


def line_of(lines: list[str], host: str) -> str:
    (line,) = [line for line in lines if f"`{host}`" in line]
    return line


def rows_of(table: str, *hosts: str) -> str:
    """The header and the rows of ``hosts`` of a pulse-status table, as printed."""
    lines = table.splitlines()
    return "\n".join([lines[1], *(line for line in lines[2:] if line.split("  ")[0].strip() in hosts)])


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def render(workdir: Path) -> dict[str, str]:
    """Run the story; ``{block name: text}`` of docs/monitor.md."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    blocks: dict[str, str] = {}
    with time_machine.travel(LAST_NIGHT, tick=False) as traveller:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        story = Story(workdir, traveller, endpoint)
        try:
            with environment(
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_DEFAULT_REGION=REGION,
                AWS_REGION=REGION,
                AWS_ENDPOINT_URL=endpoint,
                PULSE_ECHO_BUCKET=BUCKET,
                ALLOW_PRIVATE_TARGETS="true",
                ALERT_WEBHOOK_URL=story.sites.url(HOOK),
                STALE_AFTER_MINUTES="15",
                LOG_LEVEL="ERROR",
            ):
                check_echo.config.cache_clear()
                check_echo.s3_client.cache_clear()
                check_result.reset()
                story.s3 = boto3.client("s3", region_name=REGION)
                story.s3.create_bucket(Bucket=BUCKET)
                tell(story, blocks)
        finally:
            check_echo.config.cache_clear()
            check_echo.s3_client.cache_clear()
            check_result.reset()
            story.stop_sites()
            server.stop()
    return blocks


def tell(story: Story, blocks: dict[str, str]) -> None:
    """The story itself: last night's backup ran fine; tonight's fails; in the morning two
    services and a heartbeat go wrong, a web server reboots and two databases are maintained."""
    backup = ["--host", "db-1-backup", "--stale-after-minutes", "1500", "--", "backup.sh"]
    story.at(LAST_NIGHT + BACKUP_RUNS)
    story.send_pulse(*backup, times=(LAST_NIGHT, LAST_NIGHT + BACKUP_RUNS), BACKUP_EXIT="0")
    story.at(TONIGHT + BACKUP_RUNS)
    command = story.send_pulse(*backup, times=(TONIGHT, TONIGHT + BACKUP_RUNS))
    story.at(TONIGHT + timedelta(minutes=20))
    alert = story.check_result()
    blocks["backup"] = f"{command}\n"
    blocks["backup-alert"] = line_of(alert, "db-1-backup") + "\n"

    story.at(STORY)
    api = story.url("api-1", "/health")
    story.sites.route("/api-1/health", 200, '{"status":"pass","version":"2.4.1","db":"up"}')
    story.sites.route("/intranet/", 401, "Unauthorized")
    for host in ("web-1", "db-1", "db-2"):
        story.sites.route(f"/{host}/health", 200, "ok")
    commands = {
        "api": ["--host", "api-1", "--url", api, "--contains", '"status":"pass"'],
        "intranet": ["--host", "intranet", "--url", story.url("intranet", "/"), "--status", "401"],
        "heartbeat": ["--host", "nas-1"],
        "reboot": [
            "--host",
            "web-1",
            "--url",
            story.url("web-1", "/health"),
            "--body",
            "ok",
            "--pause-minutes",
            "30",
        ],
    }
    for name, args in commands.items():
        blocks[name] = story.send_pulse(*args) + "\n"
    for host in ("db-1", "db-2"):
        story.send_pulse("--host", host, "--url", story.url(host, "/health"), "--body", "ok")
    assert story.check_result() == []  # all up; the backup was announced already

    story.at(STORY + timedelta(minutes=5))
    blocks["pause"] = story.tool(pulse_pause, "pulse-pause", "--for", "2h", "db-1", "db-2")

    story.at(STORY + timedelta(minutes=10))  # the next pulses: nas-1, web-1 (rebooting) and db-1 are silent
    story.sites.route("/api-1/health", 200, '{"status":"fail","version":"2.4.1","db":"unreachable"}')
    story.send_pulse(*commands["api"])
    story.send_pulse(*commands["intranet"])
    story.send_pulse("--host", "db-2", "--url", story.url("db-2", "/health"), "--body", "ok")

    story.at(STORY + timedelta(minutes=16))
    alert = story.check_result()
    blocks["api-alert"] = line_of(alert, "api-1") + "\n"
    blocks["heartbeat-alert"] = line_of(alert, "nas-1") + "\n"
    assert all(f"`{host}`" not in "\n".join(alert) for host in ("web-1", "db-1", "db-2", "intranet"))
    table = story.tool(pulse_status, "pulse-status")
    blocks["intranet-status"] = rows_of(table, "intranet") + "\n"
    blocks["reboot-status"] = rows_of(table, "web-1") + "\n"
    blocks["pause-status"] = rows_of(table, "db-1", "db-2") + "\n"
    blocks["summary"] = alert[0] + "\n"


def test_every_recipe_is_the_real_output(tmp_path: Path) -> None:
    page = PAGE.read_text(encoding="utf-8")
    for name, text in render(tmp_path).items():
        assert f"\n{text}```" in page, f"docs/monitor.md block {name!r} differs from a fresh run:\n{text}"


def test_the_backup_ran_for_the_time_its_clock_said() -> None:
    """The awk shim is what pins send-pulse's clock: were send-pulse to read the time some other
    way, the recipes' times would drift, and the first test would say so; this one says why."""
    script = (ROOT / "scripts" / "send-pulse").read_text(encoding="utf-8")
    assert CLOCK_MARKER in script


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        for name, text in render(Path(directory)).items():
            print(f"<!-- {name} -->\n{text}")
