"""scripts/send-pulse: the POSIX sh pulse sender, run as a host would run it.

The script runs in a subprocess under dash (and bash, where installed) with the
venv's real AWS CLI, against a moto server on 127.0.0.1 (module-scoped). The
JSON escaper is checked byte for byte against Python's json.loads with
``--dry-run`` (no CLI needed, so it can try many inputs cheaply); a few uploads
go the whole way through ``aws s3 cp`` and are read back from the emulator.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import VENV_BIN, cli_env, s3_with_bucket

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "send-pulse"
EXAMPLES = ROOT / "scripts" / "examples"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
BUCKET = "pulse-echo-send-pulse-test"

SHELLS = [shell for shell in ("dash", "bash") if shutil.which(shell)]
if not SHELLS:  # pragma: no cover - every supported platform has one of them
    SHELLS = ["sh"]

NASTY_BODIES = [
    "ok",
    "",
    'say "hi"',
    "back\\slash \\n \\u0041 \\",
    "line one\nline two\n",
    "\n\nleading and trailing newlines\n\n",
    "crlf\r\nend",
    "tab\there\ttwice",
    "".join(chr(code) for code in range(1, 32)) + "\x7f",
    "ünïcödé ✓ 日本語 😀 e\u0301 \u200f\u2028\u2029",
    "$(touch /tmp/pwned) `id` ${HOME} $HOME ; rm -rf / #",
    "-",
    "--",
    "--body",
    "-x --help",
    "%s %d %n %% \\% %b",
    "'single' \"double\" `back`",
    "* ? [a-z] ~ !",
    '{"json": "inside", "n": [1, 2]}',
    " padded with spaces ",
]

NASTY_URLS = [
    "https://myhost.example.com/health",
    "http://127.0.0.1:8080/",
    'https://h.example/p?q="quoted"&b=\\x&c=$(id)&d=`id`',
    "https://h.example/%20%22%5C?x=%s&y=%n",
    "https://ünïcödé.example/日本/😀?q=é",
    "HTTPS://UPPER.EXAMPLE/",
]


@pytest.fixture(scope="module")
def bucket_client(moto_endpoint: str) -> object:
    """A boto3 S3 client on the moto server, with BUCKET created."""
    return s3_with_bucket(moto_endpoint, BUCKET)


def host_env(tmp_path: Path, endpoint: str | None = None, **extra: str) -> dict[str, str]:
    """A clean environment like a host's (tests.helpers.cli_env): the venv's aws first on PATH,
    dummy keys, no ~/.aws."""
    return cli_env(tmp_path, endpoint, **{"PATH": f"{VENV_BIN}{os.pathsep}{SYSTEM_PATH}", **extra})


def send_pulse(
    args: list[str | bytes], env: dict[str, str], shell: str = "sh"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shell, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        timeout=60,
        check=False,
    )


def read_pulse(client: object, host: str) -> tuple[dict, str]:
    obj = client.get_object(Bucket=BUCKET, Key=f"pulse/{host}.json")
    return json.loads(obj["Body"].read()), obj["ContentType"]


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int, *words: str) -> None:
    assert result.returncode == status, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("send-pulse: ")
    for word in words:
        assert word in lines[0]


# --- help and command line ---


def test_help_prints_usage_and_exits_zero(tmp_path: Path) -> None:
    for flag in ("--help", "-h"):
        result = send_pulse([flag], host_env(tmp_path))
        assert result.returncode == 0
        assert result.stdout.startswith("Usage: send-pulse --bucket NAME --url URL --body TEXT")
        assert "--host NAME" in result.stdout
        assert result.stderr == ""


def test_script_is_executable_and_runs_from_its_shebang(tmp_path: Path) -> None:
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/bin/sh\n")
    result = subprocess.run(
        [str(SCRIPT), "--help"], env=host_env(tmp_path), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "Usage:" in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--url", "https://x.example/", "--body", "ok"], ["--bucket is required"]),
        (["--bucket", BUCKET, "--body", "ok"], ["--url is required"]),
        (["--bucket", BUCKET, "--url", "https://x.example/"], ["--body is required"]),
        (["--bucket", BUCKET, "--url", "https://x.example/", "--body"], ["--body needs a value"]),
        (["--bucket", "", "--url", "https://x.example/", "--body", "ok"], ["--bucket is empty"]),
        (["--bucket", "s3://b", "--url", "https://x.example/", "--body", "ok"], ["not an s3:// URL"]),
        (["--bucket", BUCKET, "--url", "ftp://x.example/", "--body", "ok"], ["http:// or https://"]),
        (["--bucket", BUCKET, "--url", "x.example/health", "--body", "ok"], ["http:// or https://"]),
        (["--bucket", BUCKET, "--url", "https://", "--body", "ok"], ["--url has no host"]),
        (["--bucket", BUCKET, "--url", "https://x/\nevil", "--body", "ok"], ["--url contains whitespace"]),
        (["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "--host", ""], ["--host is empty"]),
        (["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "--host", "a\nb"], ["control"]),
        (["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "--host", "h" * 1012], ["1011"]),
        (["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "--verbose"], ["unknown option"]),
        (["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "extra"], ["unexpected argument"]),
    ],
)
def test_wrong_command_line_exits_2_with_one_line(tmp_path: Path, args: list[str], words: list[str]) -> None:
    result = send_pulse(args, host_env(tmp_path))
    assert_one_line_error(result, 2, *words)


@pytest.mark.parametrize("which", ["--url", "--body", "--host"])
def test_invalid_utf8_is_refused(tmp_path: Path, which: str) -> None:
    args: dict[str, str | bytes] = {"--url": "https://x.example/", "--body": "ok", "--host": "h"}
    args[which] = b"https://x.example/\xff" if which == "--url" else b"caf\xe9"
    argv: list[str | bytes] = ["--bucket", BUCKET, "--dry-run"]
    for name, value in args.items():
        argv += [name, value]
    result = send_pulse(argv, host_env(tmp_path))
    assert_one_line_error(result, 2, which, "not valid UTF-8")


@pytest.mark.parametrize(
    "raw",
    [b"\xc3", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80"],
    ids=["truncated", "overlong-2", "overlong-3", "surrogate", "above-U+10FFFF", "5-byte"],
)
def test_escaper_refuses_what_python_refuses_as_utf8(tmp_path: Path, raw: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    result = send_pulse(
        ["--bucket", BUCKET, "--url", "https://x/", "--body", b"a" + raw + b"z", "--dry-run"],
        host_env(tmp_path),
    )
    assert_one_line_error(result, 2, "--body is not valid UTF-8")


def test_pulse_larger_than_check_echo_reads_is_refused(tmp_path: Path) -> None:
    result = send_pulse(
        ["--bucket", BUCKET, "--url", "https://x/", "--body", "x" * 65536, "--dry-run"], host_env(tmp_path)
    )
    assert_one_line_error(result, 2, "65536")


# --- the JSON escaper, against json.loads ---


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("body", NASTY_BODIES, ids=range(len(NASTY_BODIES)))
def test_nasty_bodies_round_trip_exactly(tmp_path: Path, shell: str, body: str) -> None:
    result = send_pulse(
        ["--bucket", BUCKET, "--url", "https://x.example/", "--body", body, "--host", "h", "--dry-run"],
        host_env(tmp_path),
        shell=shell,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"url": "https://x.example/", "body": body}
    assert "s3://pulse-echo-send-pulse-test/pulse/h.json" in result.stderr


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("url", NASTY_URLS, ids=range(len(NASTY_URLS)))
def test_nasty_urls_round_trip_exactly(tmp_path: Path, shell: str, url: str) -> None:
    result = send_pulse(
        ["--bucket", BUCKET, "--url", url, "--body", "ok", "--host", "h", "--dry-run"],
        host_env(tmp_path),
        shell=shell,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"url": url, "body": "ok"}


def test_escaper_output_has_no_raw_control_characters(tmp_path: Path) -> None:
    body = "".join(chr(code) for code in range(1, 128))
    result = send_pulse(
        ["--bucket", BUCKET, "--url", "https://x/", "--body", body, "--dry-run"], host_env(tmp_path)
    )
    line = result.stdout.rstrip("\n")
    assert "\n" not in line
    assert all(ord(c) >= 32 for c in line)
    assert json.loads(line)["body"] == body
    for escape in ("\\t", "\\n", "\\u0001", '\\"', "\\\\"):
        assert escape in line


def test_options_accept_equals_form_and_values_starting_with_dashes(tmp_path: Path) -> None:
    result = send_pulse(
        [f"--bucket={BUCKET}", "--url=https://x/?a=b=c", "--body", "--host", "--host", "-h", "--dry-run"],
        host_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"url": "https://x/?a=b=c", "body": "--host"}
    assert f"s3://{BUCKET}/pulse/-h.json" in result.stderr


URLS_TO_JUDGE = [
    *NASTY_URLS,
    "https://h:65535/",
    "https://h:080/",
    "https://h:/",
    "https://[::1]:8080/x",
    "http://h?x",
    "https://h:0/",
    "https://h:65536/",
    "https://h:x/",
    "https://user:secret@h/",
    "https:///path",
    "https://:80/",
    "https://[]/",
    "ftp://h/",
    "file:///etc/passwd",
    "//h/relative",
    "https://h/with space",
    "https://h/tab\there",
    "https://h/del\x7f",
]


@pytest.mark.parametrize("url", URLS_TO_JUDGE, ids=range(len(URLS_TO_JUDGE)))
def test_url_checks_agree_with_check_echo(tmp_path: Path, url: str) -> None:
    """send-pulse refuses exactly the URLs check_echo's validate_url would record as a bad pulse."""
    from pulse_echo.pulse import PulseError, parse_pulse

    result = send_pulse(["--bucket", BUCKET, "--url", url, "--body", "ok", "--dry-run"], host_env(tmp_path))
    try:
        parse_pulse(json.dumps({"url": url, "body": "ok"}).encode())
    except PulseError:
        assert_one_line_error(result, 2, "--url")
    else:
        assert result.returncode == 0, result.stderr
        assert parse_pulse(result.stdout.encode()).url == url


def test_every_nasty_pulse_is_one_check_echo_accepts(tmp_path: Path) -> None:
    from pulse_echo.pulse import parse_pulse

    for body in NASTY_BODIES:
        result = send_pulse(
            ["--bucket", BUCKET, "--url", NASTY_URLS[2], "--body", body, "--dry-run"], host_env(tmp_path)
        )
        pulse = parse_pulse(result.stdout.encode())
        assert (pulse.url, pulse.body) == (NASTY_URLS[2], body)


# --- through the real AWS CLI, against the moto server ---


def test_upload_round_trips_nasty_values_through_the_aws_cli(
    tmp_path: Path, moto_endpoint: str, bucket_client: object
) -> None:
    host = "rack 1/web+%20ünï 😀"
    body = "".join(NASTY_BODIES)
    url = NASTY_URLS[2]
    result = send_pulse(
        ["--bucket", BUCKET, "--url", url, "--body", body, "--host", host], host_env(tmp_path, moto_endpoint)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
    pulse, content_type = read_pulse(bucket_client, host)
    assert pulse == {"url": url, "body": body}
    assert content_type == "application/json"


def test_upload_works_under_the_posix_locale_of_cron(
    tmp_path: Path, moto_endpoint: str, bucket_client: object
) -> None:
    env = host_env(tmp_path, moto_endpoint, LANG="", LC_ALL="C")
    result = send_pulse(
        ["--bucket", BUCKET, "--url", "https://x/é", "--body", "ünï\n", "--host", "cron-ünï"], env
    )
    assert result.returncode == 0, result.stderr
    assert read_pulse(bucket_client, "cron-ünï")[0] == {"url": "https://x/é", "body": "ünï\n"}


def test_host_defaults_to_the_short_host_name(
    tmp_path: Path, moto_endpoint: str, bucket_client: object
) -> None:
    short = subprocess.run(["hostname", "-s"], capture_output=True, text=True, check=True).stdout.strip()
    result = send_pulse(
        ["--bucket", BUCKET, "--url", "https://x/", "--body", "ok"], host_env(tmp_path, moto_endpoint)
    )
    assert result.returncode == 0, result.stderr
    assert read_pulse(bucket_client, short)[0] == {"url": "https://x/", "body": "ok"}


def test_wrong_bucket_fails_with_one_line(tmp_path: Path, moto_endpoint: str, bucket_client: object) -> None:
    result = send_pulse(
        ["--bucket", "no-such-bucket-here", "--url", "https://x/", "--body", "ok", "--host", "h"],
        host_env(tmp_path, moto_endpoint),
    )
    assert_one_line_error(result, 1, "s3://no-such-bucket-here/pulse/h.json", "NoSuchBucket")
    assert "upload failed: -" not in result.stderr


def test_missing_credentials_fail_with_one_line(
    tmp_path: Path, moto_endpoint: str, bucket_client: object
) -> None:
    env = host_env(tmp_path, moto_endpoint)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    result = send_pulse(["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "--host", "h"], env)
    assert_one_line_error(result, 1, "Unable to locate credentials")


def test_missing_aws_cli_fails_with_one_line(tmp_path: Path) -> None:
    if shutil.which("aws", path=SYSTEM_PATH):
        pytest.skip("an aws CLI is installed system-wide")
    env = host_env(tmp_path, PATH=SYSTEM_PATH)
    result = send_pulse(["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "--host", "h"], env)
    assert_one_line_error(result, 1, "aws CLI not found")


def test_region_and_endpoint_from_the_environment_reach_the_cli(tmp_path: Path) -> None:
    """AWS CLI v1 ignores AWS_REGION, and CLIs before 1.29/2.13 ignore AWS_ENDPOINT_URL: both are passed."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "aws").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$HOME/argv"\ncat > "$HOME/stdin"\n')
    (fake / "aws").chmod(0o755)
    env = host_env(tmp_path, "http://endpoint.invalid:1", PATH=f"{fake}{os.pathsep}{SYSTEM_PATH}")
    env["AWS_REGION"] = "eu-west-3"
    args = ["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "--host", "h"]

    assert send_pulse(args, env).returncode == 0
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[:4] == ["s3", "cp", "-", f"s3://{BUCKET}/pulse/h.json"]
    assert argv[argv.index("--region") + 1] == "eu-west-3"
    assert argv[argv.index("--endpoint-url") + 1] == "http://endpoint.invalid:1"
    assert argv[argv.index("--content-type") + 1] == "application/json"
    assert json.loads((tmp_path / "stdin").read_text()) == {"url": "https://x/", "body": "ok"}

    assert send_pulse([*args, "--region", "ap-south-1"], env).returncode == 0
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[argv.index("--region") + 1] == "ap-south-1"

    env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
    del env["AWS_REGION"]
    assert send_pulse(args, env).returncode == 0
    argv = (tmp_path / "argv").read_text().splitlines()
    assert "--endpoint-url" not in argv
    assert "--region" not in argv


# --- the shipped cron and systemd examples ---


def test_examples_run_send_pulse_with_a_valid_command_line(tmp_path: Path) -> None:
    """Each example's command line, with the script path swapped for ours, passes --dry-run."""
    cron = (EXAMPLES / "send-pulse.cron").read_text().splitlines()
    service = (EXAMPLES / "send-pulse.service").read_text().splitlines()
    lines = [line for line in cron if "send-pulse --" in line and not line.startswith("#")]
    lines += [line.removeprefix("ExecStart=") for line in service if line.startswith("ExecStart=")]
    assert len(lines) == 2
    timer = (EXAMPLES / "send-pulse.timer").read_text()
    assert "OnUnitActiveSec=10min" in timer
    assert "WantedBy=timers.target" in timer
    for line in lines:
        words = shlex.split(line)
        words = words[words.index("/usr/local/bin/send-pulse") + 1 :]
        args = words[: words.index("2>&1")] if "2>&1" in words else words
        result = send_pulse([*args, "--dry-run"], host_env(tmp_path))
        assert result.returncode == 0, (line, result.stderr)
        assert json.loads(result.stdout) == {"url": "https://myhost.example.com/health", "body": "ok"}


def test_docs_show_the_shipped_examples_verbatim() -> None:
    page = (ROOT / "docs" / "pulses.md").read_text(encoding="utf-8")
    for name in ("send-pulse.cron", "send-pulse.service", "send-pulse.timer"):
        assert (EXAMPLES / name).read_text() in page, name
