"""A new user's first day with the module, and the day they remove it, as docs/local.md tells it.

A root module of their own calls the module through a ``git::file://`` source pinned to this
repository's HEAD commit: Terraform clones it with git and deploys the committed dist/ zips,
with no build step. Beside it, the IAM user of examples/hosts, whose key is made
with the AWS CLI and used from an AWS CLI profile, as that example's README says. The
commands are docs/local.md's (DOCUMENTED: a test checks the page shows each one), run as
subprocesses in the page's order with ``tools/local.py`` on its own emulator (a temporary
PULSE_ECHO_LOCAL_DIR: the session's emulator is not touched). Then the removal of
docs/operations.md with ``force_destroy`` left false: ``destroy`` fails with
BucketNotEmpty, ``aws s3 rm --recursive`` empties the bucket, ``destroy`` finishes, nothing
is left, and ``down`` leaves no process.

The tests of this file run in order and share one trial (module-scoped): the second and
third need the first's apply. HEAD is what is tested, not uncommitted changes.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import Timings
from tools import local as local_tool
from tools import tf
from tools.build_zips import code_sha256

ROOT = tf.ROOT
LOCAL_PAGE = ROOT / "docs" / "local.md"
HOSTS_EXAMPLE = ROOT / "examples" / "hosts"
BUCKET = "my-pulse-echo-bucket"
DOCUMENTED_PORT = "8787"
SENDER = "pulse-echo-pulse-sender"
CREATE_KEY = (
    f"aws iam create-access-key --user-name {SENDER} "
    "--query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text"
)

# docs/local.md's commands, in its order.
DOCUMENTED = (
    "pe-local up",
    "pe-local serve",
    "pe-local provider > provider.tf",
    "pe-local terraform init",
    "pe-local terraform apply -auto-approve",
    'eval "$(pe-local env)"',
    f'"$PE/scripts/send-pulse" --bucket {BUCKET} --host web-1 --url http://127.0.0.1:8787/health --body ok',
    f"pe-local invoke check_echo s3://{BUCKET}/pulse/web-1.json",
    "pe-local invoke check_result",
    "pe-local clock +20m",
    "pe-local invoke check_result --test-alert",
    f"pe-local tool pulse-status --bucket {BUCKET}",
    "pe-local terraform destroy -auto-approve",
    f"aws s3 rm s3://{BUCKET} --recursive",
    "pe-local down",
)


@dataclass
class Trial:
    """The user's directory, environment and the processes the trial started."""

    root: Path
    home: Path
    env: dict[str, str]
    port: str = ""
    serve: subprocess.Popen[bytes] | None = None
    printed: bytes = b""
    """What `pe-local serve` printed, read from its stdout pipe (alerts() reads what is new)."""
    commit: str = ""
    user_env: dict[str, str] = field(default_factory=dict)

    def run(self, line: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run one of DOCUMENTED as the user types it (the port of our `serve`, this clone as PE)."""
        assert line in DOCUMENTED, f"not a documented command: {line}"
        words = shlex.split(line.replace(DOCUMENTED_PORT, self.port).replace("$PE", str(ROOT)))
        if words[0] == "pe-local":
            words = [sys.executable, str(ROOT / "tools" / "local.py"), *words[1:]]
        stdout_file = None
        if ">" in words:  # `pe-local provider > provider.tf`
            stdout_file = self.root / words[-1]
            words = words[: words.index(">")]
        result = run_in_own_group(words, cwd=self.root, env=env or self.user_env or self.env)
        if stdout_file is not None:
            stdout_file.write_text(result.stdout, encoding="utf-8")
        return result

    def alerts(self) -> str:
        """What `pe-local serve` printed so far. It prints an alert before it answers the webhook,
        so once a command that alerted has returned, the alert is in the pipe (read without
        waiting: the pipe is non-blocking after the first lines)."""
        assert self.serve is not None
        assert self.serve.stdout is not None
        while True:
            try:
                chunk = os.read(self.serve.stdout.fileno(), 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.printed += chunk
        return self.printed.decode("utf-8", errors="replace")


def run_in_own_group(
    words: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``words`` in a process group of its own; on timeout, kill the whole group (Terraform's
    child processes too, which a plain timeout would leave running), then fail."""
    with subprocess.Popen(
        words,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise AssertionError(f"{words} did not finish in {timeout:.0f} s") from None
    return subprocess.CompletedProcess(words, process.returncode, stdout, stderr)


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}:\n{result.stdout}\n{result.stderr}"
    return _plain(result.stdout)


def _documented_main_tf() -> str:
    """The main.tf of docs/local.md (its heredoc)."""
    page = LOCAL_PAGE.read_text(encoding="utf-8")
    match = re.search(r"cat > main\.tf <<'EOF'\n(.*?)\nEOF\n", page, re.S)
    assert match, "docs/local.md no longer writes main.tf with a heredoc"
    return match[1] + "\n"


def _head_commit() -> str:
    if shutil.which("git") is None:
        pytest.skip("GIT SOURCE NOT TESTED: git is not installed")
    found = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "HEAD"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        pytest.skip(f"GIT SOURCE NOT TESTED: {ROOT} is not a git checkout; run the suite from a clone")
    return found.stdout.strip()


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory, timings: Timings) -> Iterator[Trial]:
    """docs/local.md up to the apply: the emulator up, `serve` running, the root applied."""
    commit = _head_commit()
    base = tmp_path_factory.mktemp("day-one")
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
        "HOME": str(base),
        "LANG": "C.UTF-8",
        "PULSE_ECHO_LOCAL_DIR": str(base / "local"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    root = base / "try-pulse-echo"
    root.mkdir()
    trial = Trial(root=root, home=base, env=env, commit=commit)
    _ok(trial.run("pe-local up"))
    try:
        trial.serve = subprocess.Popen(
            [sys.executable, str(ROOT / "tools" / "local.py"), "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            bufsize=0,
        )
        trial.port = _served_port(trial)
        main_tf = _documented_main_tf().replace(
            'source = "git::https://github.com/<org>/pulse-echo.git?ref=v0.2.0"',
            f'source = "git::file://{ROOT}?ref={commit}"',
        )
        (root / "main.tf").write_text(main_tf.replace(DOCUMENTED_PORT, trial.port), encoding="utf-8")
        shutil.copy(HOSTS_EXAMPLE / "pulse_sender.tf", root)  # as docs/local.md says
        _ok(trial.run("pe-local provider > provider.tf"))
        started = time.monotonic()
        _ok(trial.run("pe-local terraform init"))
        timings.record("init (git:: source)", time.monotonic() - started)
        started = time.monotonic()
        _ok(trial.run("pe-local terraform apply -auto-approve"))
        timings.record("apply (day one)", time.monotonic() - started)
        yield trial
    finally:
        if trial.serve is not None:
            trial.serve.terminate()
            trial.serve.wait(timeout=30)
        trial.run("pe-local down", env=env)  # everything the emulator held goes with it


def _served_port(trial: Trial) -> str:
    """The port `serve` listens on, from its first line (printed once it listens): read from its
    pipe, blocking until it comes or serve ends; the pipe is then made non-blocking for alerts()."""
    assert trial.serve is not None
    assert trial.serve.stdout is not None
    pipe = trial.serve.stdout.fileno()
    while chunk := os.read(pipe, 4096):  # b"" when serve has ended
        trial.printed += chunk
        match = re.search(rb"webhook: http://127\.0\.0\.1:(\d+)/hook", trial.printed)
        if match:
            os.set_blocking(pipe, False)
            return match[1].decode()
    raise AssertionError(f"pe-local serve ended before it listened: {trial.printed.decode(errors='replace')}")


def _client(trial: Trial, service: str) -> object:
    import boto3

    env = trial.user_env or _user_env(trial)
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _user_env(trial: Trial) -> dict[str, str]:
    """The environment after `eval "$(pe-local env)"` in the user's shell."""
    local = f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'tools' / 'local.py'))}"
    script = f'pe-local() {{ {local} "$@"; }}\neval "$(pe-local env)" && env -0'
    result = subprocess.run(
        ["bash", "-c", script], cwd=trial.root, env=trial.env, capture_output=True, text=True, check=True
    )
    return dict(item.split("=", 1) for item in result.stdout.split("\0") if "=" in item)


def test_a_git_source_applies_the_committed_zips_with_no_build_step(trial: Trial) -> None:
    clone = trial.root / ".terraform" / "modules" / "pulse_echo"
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert head.stdout.strip() == trial.commit
    assert not (clone / "build").exists()
    lambda_client = _client(trial, "lambda")
    for name in ("check_echo", "check_result"):
        committed = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{trial.commit}:dist/{name}.zip"],
            capture_output=True,
            check=True,
        ).stdout
        (trial.home / f"{name}.zip").write_bytes(committed)
        deployed = lambda_client.get_function(FunctionName=f"pulse-echo-{name.replace('_', '-')}")
        assert deployed["Configuration"]["CodeSha256"] == code_sha256(trial.home / f"{name}.zip")
        assert code_sha256(clone / "dist" / f"{name}.zip") == code_sha256(trial.home / f"{name}.zip")


def test_the_documented_commands_run_a_hosts_pulse_through_both_functions(trial: Trial) -> None:
    trial.user_env = _user_env(trial)
    assert trial.user_env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")

    # The host outside AWS: its key made with the AWS CLI, kept in a profile (examples/hosts).
    key_id, secret = _create_key(trial)
    aws_dir = trial.home / ".aws"
    aws_dir.mkdir(exist_ok=True)
    (aws_dir / "credentials").write_text(
        f"[pulse-echo]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n", encoding="utf-8"
    )
    (aws_dir / "config").write_text("[profile pulse-echo]\nregion = us-east-1\n", encoding="utf-8")
    as_cron = {
        name: value
        for name, value in trial.user_env.items()
        if name not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    }
    line = DOCUMENTED[6]
    _ok(trial.run(line, env={**as_cron, "AWS_PROFILE": "pulse-echo"}))

    checked = _ok(trial.run(f"pe-local invoke check_echo s3://{BUCKET}/pulse/web-1.json"))
    assert "== pulse-echo-check-echo: ok" in checked
    assert '"outcome": "echo"' in checked
    first = _ok(trial.run("pe-local invoke check_result"))
    assert '"events_sent": 0' in first  # web-1 is up: nothing to say

    # Twenty minutes without a pulse: web-1 is down, and the alert reaches the webhook.
    assert "20 min 0 s ahead" in _ok(trial.run("pe-local clock +20m"))
    down = _ok(trial.run("pe-local invoke check_result"))
    assert '"outcome": "alerted"' in down
    assert ":red_circle: *DOWN* `web-1`" in trial.alerts()
    tested = _ok(trial.run("pe-local invoke check_result --test-alert"))
    assert '"outcome": "test_alert_sent"' in tested
    assert f":white_check_mark: *TEST* pulse-echo test alert from bucket `{BUCKET}`" in trial.alerts()
    status = _ok(trial.run(f"pe-local tool pulse-status --bucket {BUCKET}"))
    assert re.search(r"^web-1\s+down\s", status, re.M), status


def _create_key(trial: Trial) -> tuple[str, str]:
    result = subprocess.run(
        shlex.split(CREATE_KEY), env=trial.user_env, capture_output=True, text=True, timeout=60, check=False
    )
    key_id, secret = _ok(result).split()
    return key_id, secret


def test_removing_it_takes_an_emptied_bucket_and_leaves_nothing(trial: Trial, timings: Timings) -> None:
    started = time.monotonic()
    failed = trial.run("pe-local terraform destroy -auto-approve")
    assert failed.returncode == 1
    assert "BucketNotEmpty" in _plain(failed.stdout + failed.stderr)
    s3 = _client(trial, "s3")
    assert [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]] == [BUCKET]  # all else is gone
    assert _client(trial, "lambda").list_functions()["Functions"] == []

    _ok(trial.run(f"aws s3 rm s3://{BUCKET} --recursive"))
    _ok(trial.run("pe-local terraform destroy -auto-approve"))
    timings.record("destroy (day one: refused, emptied, done)", time.monotonic() - started)

    assert s3.list_buckets()["Buckets"] == []
    assert _client(trial, "iam").list_roles()["Roles"] == []
    assert _client(trial, "iam").list_users()["Users"] == []  # the host's user, and its key
    assert _client(trial, "events").list_rules()["Rules"] == []
    assert _client(trial, "logs").describe_log_groups()["logGroups"] == []

    pid = int(re.search(r'"pid": (\d+)', (trial.home / "local" / "emulator.json").read_text())[1])
    assert "is stopped" in _ok(trial.run("pe-local down"))
    assert not local_tool._alive(pid), f"the emulator (pid {pid}) still runs"


def test_the_pages_show_every_command_this_test_runs() -> None:
    blocks = "\n".join(re.findall(r"^```sh\n(.*?)^```", LOCAL_PAGE.read_text(encoding="utf-8"), re.M | re.S))
    missing = [line for line in DOCUMENTED if line not in blocks]
    assert missing == [], f"docs/local.md does not show: {missing}"
    order = [blocks.index(line) for line in DOCUMENTED]
    assert order == sorted(order), "docs/local.md shows the commands in another order"
    readme = (HOSTS_EXAMPLE / "README.md").read_text(encoding="utf-8").replace("\\\n  ", "")
    assert CREATE_KEY in readme
    assert "[pulse-echo]\naws_access_key_id = AKIA..." in readme
