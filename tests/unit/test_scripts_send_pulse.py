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
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pulse_echo.records import RECORD_DETAIL_MAX_CHARS

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
        assert result.stdout.startswith("Usage: send-pulse --bucket NAME [--host NAME] [--url URL]")
        for option in ("--contains TEXT", "--status CODE", "--max-response-ms N", "--stale-after-minutes N"):
            assert option in result.stdout
        for option in ("--fail", "--message TEXT", "--pause-until TIME", "--pause-minutes N", "-- COMMAND"):
            assert option in result.stdout
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
        (
            ["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "--verbose"],
            ["unknown option --verbose"],
        ),
        (["--bucket", BUCKET, "--host", "--dry-run"], ["--host needs a value, not the option --dry-run"]),
        (
            ["--bucket", BUCKET, "--message", "--dry-run"],
            ["--message needs a value, not the option --dry-run"],
        ),
        (["--bucket", "--dry-run", "--host", "x"], ["--bucket needs a value, not the option --dry-run"]),
        (["--bucket", BUCKET, "--host", "--url=https://x/"], ["--host needs a value, not the option --url"]),
        (["--bucket", "My_Bucket", "--dry-run"], ["--bucket is not a bucket name"]),
        (["--bucket", "ab", "--dry-run"], ["--bucket is not a bucket name"]),
        (["--bucket", "-bucket", "--dry-run"], ["--bucket is not a bucket name"]),
        (["--bucket", "bucket.", "--dry-run"], ["--bucket is not a bucket name"]),
        (["--bucket", "b" * 64, "--dry-run"], ["--bucket is not a bucket name"]),
        (["--bucket", BUCKET, "--url", "https://x/", "--body", "ok", "extra"], ["unexpected argument"]),
    ],
)
def test_wrong_command_line_exits_2_with_one_line(tmp_path: Path, args: list[str], words: list[str]) -> None:
    result = send_pulse(args, host_env(tmp_path))
    assert_one_line_error(result, 2, *words)


def test_a_value_that_starts_like_an_option_is_given_with_equals(tmp_path: Path) -> None:
    result = send_pulse(["--bucket", BUCKET, "--message=--dry-run", "--dry-run"], host_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["message"] == "--dry-run"
    result = send_pulse(["--bucket", "a.b-3", "--host", "-x", "--dry-run"], host_env(tmp_path))
    assert result.returncode == 0, result.stderr  # a host may start with '-'; only options are refused


@pytest.mark.parametrize("which", ["--url", "--body", "--host", "--contains", "--message"])
def test_invalid_utf8_is_refused(tmp_path: Path, which: str) -> None:
    args: dict[str, str | bytes] = {"--url": "https://x.example/", "--body": "ok", "--host": "h"}
    args[which] = "x"
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
        [f"--bucket={BUCKET}", "--url=https://x/?a=b=c", "--body", "--host", "--host=-h", "--dry-run"],
        host_env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"url": "https://x/?a=b=c", "body": "--host"}
    assert f"s3://{BUCKET}/pulse/-h.json" in result.stderr
    refused = send_pulse([f"--bucket={BUCKET}", "--host", "-h", "--dry-run"], host_env(tmp_path))
    assert_one_line_error(refused, 2, "--host needs a value, not the option -h", "--host=VALUE")


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


# --- pulse v2: heartbeats, match rules, thresholds, results, pauses (DESIGN §2b, §3b) ---


def dry_run(tmp_path: Path, *args: str | bytes, shell: str = "sh") -> dict:
    """The pulse ``send-pulse --bucket BUCKET --host h ARGS --dry-run`` prints, checked by
    pulse_echo.pulse (what check_echo would make of it) and returned as a dict."""
    from pulse_echo.pulse import parse_pulse

    result = send_pulse(["--bucket", BUCKET, "--host", "h", *args, "--dry-run"], host_env(tmp_path), shell)
    assert result.returncode == 0, result.stderr
    pulse_line = result.stdout.splitlines()[-1]
    parse_pulse(pulse_line.encode())  # raises PulseError for a pulse check_echo would refuse
    return json.loads(pulse_line)


@pytest.mark.parametrize("shell", SHELLS)
def test_without_url_the_pulse_is_a_heartbeat(tmp_path: Path, shell: str) -> None:
    from pulse_echo.pulse import KIND_HEARTBEAT, parse_pulse

    assert dry_run(tmp_path, shell=shell) == {}
    assert parse_pulse(b"{}").kind == KIND_HEARTBEAT
    assert dry_run(tmp_path, "--stale-after-minutes", "1500", shell=shell) == {"stale_after_minutes": 1500}


@pytest.mark.parametrize("shell", SHELLS)
def test_every_option_reaches_the_pulse_as_check_echo_reads_it(tmp_path: Path, shell: str) -> None:
    from pulse_echo.pulse import parse_pulse

    pulse = dry_run(
        tmp_path,
        "--url=https://x.example/health",
        "--body",
        "ok",
        "--contains",
        '"status": "pass"',
        "--contains=db \\ up",
        "--status",
        "200",
        "--status=401",
        "--max-response-ms",
        "0800",
        "--stale-after-minutes",
        "2.5",
        "--fail",
        "--message",
        "disk full <!channel>\n\x1b[31m",
        shell=shell,
    )

    assert pulse == {
        "url": "https://x.example/health",
        "body": "ok",
        "contains": ['"status": "pass"', "db \\ up"],
        "status": [200, 401],
        "max_response_ms": 800,
        "stale_after_minutes": 2.5,
        "message": "disk full <!channel>\n\x1b[31m",
        "result": "fail",
    }
    parsed = parse_pulse(json.dumps(pulse).encode())
    assert (parsed.failed, parsed.probes, parsed.accepts_status(401)) == (True, False, True)


def test_stale_after_minutes_is_sent_as_a_plain_json_number(tmp_path: Path) -> None:
    for given, sent in [("1500", 1500), ("007", 7), ("0.25", 0.25), (".5", 0.5), ("525600", 525600)]:
        assert dry_run(tmp_path, "--stale-after-minutes", given)["stale_after_minutes"] == sent


def test_pause_minutes_pauses_from_the_moment_of_sending(tmp_path: Path) -> None:
    from pulse_echo.times import parse_isoformat

    before = datetime.now(timezone.utc).replace(microsecond=0)
    pulse = dry_run(tmp_path, "--pause-minutes", "90")
    after = datetime.now(timezone.utc)

    until = parse_isoformat(pulse["pause_until"])
    assert pulse["pause_until"].endswith("Z")
    assert before + timedelta(minutes=90) <= until <= after + timedelta(minutes=90)


@pytest.mark.parametrize("shell", SHELLS)
def test_pause_until_is_sent_in_utc(tmp_path: Path, shell: str) -> None:
    local = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0)
    tokyo = local.astimezone(timezone(timedelta(hours=9)))

    for given in (
        tokyo.isoformat(),
        tokyo.strftime("%Y-%m-%dT%H:%M:%S+0900"),
        tokyo.strftime("%Y-%m-%d %H:%M:%S.123+09:00"),
    ):
        assert dry_run(tmp_path, "--pause-until", given, shell=shell) == {
            "pause_until": local.strftime("%Y-%m-%dT%H:%M:%SZ")
        }
    minutes = local.astimezone(timezone(timedelta(hours=-3, minutes=-30))).strftime("%Y-%m-%dT%H:%M-03:30")
    assert dry_run(tmp_path, "--pause-until", minutes)["pause_until"] == local.strftime("%Y-%m-%dT%H:%M:00Z")


def in_days(days: float, form: str = "%Y-%m-%dT%H:%M:%SZ") -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).strftime(form)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--body", "ok"], ["--body needs --url", "heartbeat"]),
        (["--contains", "ok"], ["--contains needs --url"]),
        (["--status", "401"], ["--status needs --url"]),
        (["--max-response-ms", "500"], ["--max-response-ms needs --url"]),
        (["--stale-after-minutes", "5", "--status=200", "--body=ok"], ["--status needs --url"]),
        (["--url", "https://x/", "--status", "99"], ["--status", "100 to 599", "'99'"]),
        (["--url", "https://x/", "--status", "600"], ["--status", "'600'"]),
        (["--url", "https://x/", "--status", "2xx"], ["--status", "'2xx'"]),
        (["--url", "https://x/", "--status", "2000"], ["--status", "'2000'"]),
        (["--url", "https://x/", "--status", ""], ["--status"]),
        (["--url", "https://x/", "--max-response-ms", "0"], ["--max-response-ms", "1 to 900000"]),
        (["--url", "https://x/", "--max-response-ms", "900001"], ["--max-response-ms", "'900001'"]),
        (["--url", "https://x/", "--max-response-ms", "1.5"], ["--max-response-ms", "'1.5'"]),
        (["--url", "https://x/", "--max-response-ms", "-5"], ["--max-response-ms", "'-5'"]),
        (["--url", "https://x/", "--max-response-ms", "99999999999999999999"], ["--max-response-ms"]),
        (["--url", "https://x/", "--contains", ""], ["--contains is empty"]),
        (["--stale-after-minutes", "0"], ["--stale-after-minutes", "above 0", "525600"]),
        (["--stale-after-minutes", "-5"], ["--stale-after-minutes", "'-5'"]),
        (["--stale-after-minutes", "525601"], ["--stale-after-minutes"]),
        (["--stale-after-minutes", "1e3"], ["--stale-after-minutes", "'1e3'"]),
        (["--stale-after-minutes", "15m"], ["--stale-after-minutes"]),
        (["--stale-after-minutes", "0.00000001"], ["--stale-after-minutes"]),
        (["--stale-after-minutes", ""], ["--stale-after-minutes"]),
        (["--pause-minutes", "0"], ["--pause-minutes", "1 to 10080"]),
        (["--pause-minutes", "10081"], ["--pause-minutes", "'10081'"]),
        (["--pause-minutes", "1h"], ["--pause-minutes", "'1h'"]),
        (["--pause-until", "tomorrow"], ["--pause-until", "ISO 8601"]),
        (["--pause-until", lambda: in_days(1, "%Y-%m-%dT%H:%M:%S")], ["--pause-until", "ISO 8601"]),
        (["--pause-until", lambda: in_days(1, "%Y-%m-%d")], ["--pause-until", "ISO 8601"]),
        (["--pause-until", "2026-13-01T00:00:00Z"], ["--pause-until", "ISO 8601"]),
        (["--pause-until", "2027-02-29T00:00:00Z"], ["--pause-until", "ISO 8601"]),
        (["--pause-until", "2026-01-01T24:00:00Z"], ["--pause-until", "ISO 8601"]),
        (["--pause-until", "2026-01-01T10:00:00+25:00"], ["--pause-until", "ISO 8601"]),
        (["--pause-until", lambda: in_days(-1)], ["--pause-until is in the past"]),
        (["--pause-until", lambda: in_days(7.01)], ["--pause-until is more than 7 days ahead"]),
        (["--pause-until", lambda: in_days(1), "--pause-minutes", "5"], ["mutually exclusive"]),
        (["--", "true", "--fail"], []),  # after --, everything is the command's: valid
        (["--fail", "--", "true"], ["--fail cannot be used with -- COMMAND"]),
        (["--message", "m", "--", "true"], ["--message cannot be used with -- COMMAND"]),
        (["--"], ["-- needs a COMMAND"]),
        (["--message"], ["--message needs a value"]),
        (["--pause-minutes"], ["--pause-minutes needs a value"]),
    ],
)
def test_every_usage_error_is_one_line_with_status_2_naming_the_option(
    tmp_path: Path, args: list, words: list[str]
) -> None:
    args = [arg() if callable(arg) else arg for arg in args]  # times relative to now, not to collection
    result = send_pulse(["--bucket", BUCKET, "--host", "h", "--dry-run", *args], host_env(tmp_path))
    if not words:
        assert result.returncode == 0, result.stderr
        return
    assert_one_line_error(result, 2, *words)


def test_a_pause_of_seven_days_is_accepted(tmp_path: Path) -> None:
    assert "pause_until" in dry_run(tmp_path, "--pause-minutes", "10080")
    assert "pause_until" in dry_run(tmp_path, "--pause-until", in_days(6.99))


def test_usage_error_never_runs_the_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = send_pulse(["--bucket", "s3://wrong", "--", "touch", str(marker)], host_env(tmp_path))

    assert_one_line_error(result, 2, "--bucket")
    assert not marker.exists()


# --- the wrapper: send-pulse ... -- COMMAND [ARGS...] ---


def wrap(
    tmp_path: Path,
    script: str,
    *,
    shell: str = "sh",
    endpoint: str | None = None,
    args: tuple = ("--dry-run",),
) -> tuple[subprocess.CompletedProcess[str], dict | None]:
    """Run ``sh -c SCRIPT`` under send-pulse; the result, and the pulse (the last line of stdout
    with --dry-run, checked by pulse_echo.pulse)."""
    from pulse_echo.pulse import parse_pulse

    result = send_pulse(
        ["--bucket", BUCKET, "--host", "job", *args, "--", "sh", "-c", script],
        host_env(tmp_path, endpoint),
        shell,
    )
    if "--dry-run" not in args:
        return result, None
    pulse_line = result.stdout.splitlines()[-1]
    parse_pulse(pulse_line.encode())
    return result, json.loads(pulse_line)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("status", [0, 1, 2, 3, 255])
def test_wrapper_keeps_the_exit_status_and_reports_the_result(
    tmp_path: Path, shell: str, status: int
) -> None:
    result, pulse = wrap(tmp_path, f"echo working; exit {status}", shell=shell)

    assert result.returncode == status
    assert pulse["result"] == ("ok" if status == 0 else "fail")
    assert pulse["exit_code"] == status
    assert isinstance(pulse["duration_seconds"], int)
    assert pulse["duration_seconds"] >= 0
    assert pulse["message"] == "working"


@pytest.mark.parametrize("shell", SHELLS)
def test_wrapper_passes_stdout_and_stderr_through_separately_and_quotes_both(
    tmp_path: Path, shell: str
) -> None:
    result, pulse = wrap(tmp_path, "echo to-stdout; echo to-stderr >&2; echo more-stdout", shell=shell)

    assert result.stdout.splitlines()[:2] == ["to-stdout", "more-stdout"]
    assert "to-stderr" in result.stderr
    assert "to-stdout" not in result.stderr
    assert sorted(pulse["message"].split("\n")) == ["more-stdout", "to-stderr", "to-stdout"]


def test_wrapper_passes_stdin_to_the_command(tmp_path: Path) -> None:
    result = subprocess.run(
        ["sh", str(SCRIPT), "--bucket", BUCKET, "--host", "h", "--dry-run", "--", "cat"],
        input="from stdin\n",
        env=host_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0
    assert result.stdout.startswith("from stdin\n")
    assert json.loads(result.stdout.splitlines()[-1])["message"] == "from stdin"


@pytest.mark.parametrize("shell", SHELLS)
def test_command_not_found_is_a_failed_job_with_127(tmp_path: Path, shell: str) -> None:
    result = send_pulse(
        ["--bucket", BUCKET, "--host", "h", "--dry-run", "--", "no-such-command-here", "x"],
        host_env(tmp_path),
        shell,
    )

    assert result.returncode == 127
    pulse = json.loads(result.stdout.splitlines()[-1])
    assert (pulse["result"], pulse["exit_code"]) == ("fail", 127)
    assert "no-such-command-here" in pulse["message"]


def test_command_not_executable_is_a_failed_job_with_126(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\necho never\n")
    script.chmod(0o644)

    result = send_pulse(
        ["--bucket", BUCKET, "--host", "h", "--dry-run", "--", str(script)], host_env(tmp_path)
    )

    assert result.returncode == 126
    pulse = json.loads(result.stdout.splitlines()[-1])
    assert (pulse["result"], pulse["exit_code"]) == ("fail", 126)
    assert "never" not in result.stdout


def test_the_command_is_a_program_never_one_of_the_scripts_functions(tmp_path: Path) -> None:
    for name in ("die", "usage", "json_string", "exit", "cd"):
        result = send_pulse(
            ["--bucket", BUCKET, "--host", "h", "--dry-run", "--", name, "0"], host_env(tmp_path)
        )
        assert result.returncode == 127, (name, result.stdout)
        assert json.loads(result.stdout.splitlines()[-1])["exit_code"] == 127


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("signal", "status"), [("TERM", 143), ("KILL", 137), ("INT", 130)])
def test_command_killed_by_a_signal_reports_128_plus_its_number(
    tmp_path: Path, shell: str, signal: str, status: int
) -> None:
    result, pulse = wrap(tmp_path, f"echo before; kill -{signal} $$; echo after", shell=shell)

    assert result.returncode == status
    assert (pulse["result"], pulse["exit_code"]) == ("fail", status)
    assert "after" not in result.stdout


def test_without_a_temporary_directory_the_job_still_runs_and_is_reported(tmp_path: Path) -> None:
    env = host_env(tmp_path, TMPDIR=str(tmp_path / "missing"))
    result = send_pulse(
        ["--bucket", BUCKET, "--host", "h", "--dry-run", "--", "sh", "-c", "echo out; exit 5"], env
    )

    assert result.returncode == 5
    assert result.stdout.startswith("out\n")
    assert "cannot create a temporary directory" in result.stderr
    pulse = json.loads(result.stdout.splitlines()[-1])
    assert (pulse["result"], pulse["exit_code"], "message" in pulse) == ("fail", 5, False)


def test_duration_is_measured_in_whole_seconds(tmp_path: Path) -> None:
    # A lower bound: it cannot fail on a busy machine.
    result, pulse = wrap(tmp_path, "sleep 1")

    assert result.returncode == 0
    assert pulse["duration_seconds"] >= 1
    assert "message" not in pulse  # no output, no message


@pytest.mark.parametrize("shell", SHELLS)
def test_message_is_the_last_1000_bytes_cut_on_a_character_boundary(tmp_path: Path, shell: str) -> None:
    # 2-byte characters after one ASCII byte: byte 1,000 from the end falls inside a character.
    result, pulse = wrap(
        tmp_path,
        "printf 'start '; i=0; while [ $i -lt 700 ]; do printf 'é'; i=$((i+1)); done; echo",
        shell=shell,
    )

    message = pulse["message"]
    assert message == "…" + "é" * 499
    assert len(message.encode()) <= 1024
    assert len(message) <= RECORD_DETAIL_MAX_CHARS
    assert result.stdout.startswith("start " + "é" * 700 + "\n")


def test_message_of_output_just_under_the_limit_is_whole_and_at_the_limit_is_marked(tmp_path: Path) -> None:
    _, pulse = wrap(tmp_path, "printf 'x%.0s' $(seq 998); echo")  # 999 bytes
    assert pulse["message"] == "x" * 998

    _, pulse = wrap(tmp_path, "printf 'x%.0s' $(seq 999); echo")  # 1,000 bytes: the first is cut
    assert pulse["message"] == "…" + "x" * 998


@pytest.mark.parametrize("shell", SHELLS)
def test_a_megabyte_of_output_passes_through_and_only_its_tail_is_sent(tmp_path: Path, shell: str) -> None:
    result, pulse = wrap(
        tmp_path,
        "head -c 1048576 /dev/zero | tr '\\0' a; echo; echo the end",
        shell=shell,
    )

    assert result.returncode == 0
    assert result.stdout.startswith("a" * 1_048_576 + "\nthe end\n")
    assert pulse["message"].endswith("a\nthe end")
    assert pulse["message"].startswith("…a")
    assert len(pulse["message"]) <= RECORD_DETAIL_MAX_CHARS


@pytest.mark.parametrize("shell", SHELLS)
def test_invalid_utf8_and_nul_in_the_output_become_valid_text(tmp_path: Path, shell: str) -> None:
    script = "printf 'bad \\377\\376 cut \\303 nul \\000 mid \\342\\202 end \\355\\240\\200 ok é\\n'; exit 1"

    result, pulse = wrap(tmp_path, script, shell=shell)

    assert result.returncode == 1
    assert pulse["message"] == "bad \ufffd\ufffd cut \ufffd nul  mid \ufffd end \ufffd\ufffd\ufffd ok é"


@pytest.mark.parametrize("shell", SHELLS)
def test_control_characters_and_slack_markup_in_the_output_stay_escaped_text(
    tmp_path: Path, shell: str
) -> None:
    script = (
        "printf '<!channel> <@U1> *x* \\033[31mred\\033[0m\\r\\n\\t\"q\" \\\\ \\001 \\177 <https://e.x|y>\\n'"
    )

    result, pulse = wrap(tmp_path, script, shell=shell)

    line = result.stdout.splitlines()[-1]
    assert all(ord(char) >= 32 for char in line)  # every control character is a JSON escape
    assert pulse["message"] == '<!channel> <@U1> *x* \x1b[31mred\x1b[0m\r\n\t"q" \\ \x01 \x7f <https://e.x|y>'


def test_wrapper_uploads_the_job_pulse_through_the_aws_cli(
    tmp_path: Path, moto_endpoint: str, bucket_client: object
) -> None:
    from pulse_echo.pulse import KIND_JOB, parse_pulse

    result, _ = wrap(
        tmp_path,
        "echo backup failed: disk full >&2; exit 2",
        endpoint=moto_endpoint,
        args=("--stale-after-minutes", "1500"),
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "backup failed: disk full\n"
    pulse, content_type = read_pulse(bucket_client, "job")
    assert content_type == "application/json"
    assert {k: pulse[k] for k in ("stale_after_minutes", "result", "exit_code", "message")} == {
        "stale_after_minutes": 1500,
        "result": "fail",
        "exit_code": 2,
        "message": "backup failed: disk full",
    }
    parsed = parse_pulse(json.dumps(pulse).encode())
    assert (parsed.kind, parsed.failed) == (KIND_JOB, True)


@pytest.mark.parametrize("status", [0, 3])
def test_failed_upload_is_reported_and_never_hides_the_commands_status(
    tmp_path: Path, moto_endpoint: str, bucket_client: object, status: int
) -> None:
    result = send_pulse(
        ["--bucket", "no-such-bucket-here", "--host", "h", "--", "sh", "-c", f"echo done; exit {status}"],
        host_env(tmp_path, moto_endpoint),
    )

    assert result.returncode == status
    assert result.stdout == "done\n"
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("send-pulse: upload to s3://no-such-bucket-here/pulse/h.json failed:")
    assert "NoSuchBucket" in result.stderr


def test_missing_aws_cli_never_hides_the_commands_status(tmp_path: Path) -> None:
    if shutil.which("aws", path=SYSTEM_PATH):
        pytest.skip("an aws CLI is installed system-wide")
    env = host_env(tmp_path, PATH=SYSTEM_PATH)
    result = send_pulse(["--bucket", BUCKET, "--host", "h", "--", "sh", "-c", "exit 4"], env)

    assert result.returncode == 4
    assert "aws CLI not found" in result.stderr


def test_message_tail_is_what_a_failure_record_keeps_whole() -> None:
    text = SCRIPT.read_text()
    assert f"MESSAGE_TAIL_BYTES={RECORD_DETAIL_MAX_CHARS} " in text
    assert "PAUSE_MINUTES_MAX=10080 " in text
    from pulse_echo import settings
    from pulse_echo.pulse import MAX_RESPONSE_MS_MAX, PAUSE_MAX_AHEAD

    assert f"MAX_RESPONSE_MS_MAX={MAX_RESPONSE_MS_MAX} " in text
    assert f"STALE_AFTER_MINUTES_MAX={settings.STALE_AFTER.maximum:g}\n" in text
    assert PAUSE_MAX_AHEAD == timedelta(minutes=10080)


# --- docs/pulses.md shows real pulses and working commands ---

PULSES_PAGE = ROOT / "docs" / "pulses.md"


def page_blocks() -> list[tuple[str, str]]:
    """``(language, text)`` of each fenced block of docs/pulses.md, in order."""
    from tests.unit.test_docs import split_markdown

    return [(block.lang, block.text) for block in split_markdown(PULSES_PAGE.read_text(encoding="utf-8"))[1]]


def documented_commands() -> list[str]:
    """Every send-pulse command line of the page's sh and cron blocks, without what follows it
    in the shell (``2>&1 | logger``, ``&& reboot``, a comment)."""
    commands = []
    for lang, text in page_blocks():
        for line in text.splitlines() if lang in ("sh", "cron") else []:
            if "send-pulse --" not in line:
                continue
            words = shlex.split(line, comments=True)
            words = words[next(i for i, w in enumerate(words) if w.endswith("send-pulse")) + 1 :]
            for stop in ("2>&1", "&&", "|"):
                words = words[: words.index(stop)] if stop in words else words
            commands.append(shlex.join(words))
    return commands


def test_every_json_pulse_on_the_page_is_one_check_echo_accepts() -> None:
    from pulse_echo.pulse import parse_pulse

    pulses = [text for lang, text in page_blocks() if lang == "json"]
    assert len(pulses) >= 8
    for text in pulses:
        parse_pulse(text.encode(), now=datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_every_send_pulse_command_on_the_page_is_a_valid_command_line(tmp_path: Path) -> None:
    commands = documented_commands()
    assert len(commands) >= 7
    for command in commands:
        words = shlex.split(command)
        if "--" in words:  # the job itself is not ours to run here
            words = [*words[: words.index("--")], "--", "true"]
        result = send_pulse([*words, "--dry-run"], host_env(tmp_path))
        assert result.returncode == 0, (command, result.stderr)


def test_the_pulses_the_page_says_send_pulse_prints_are_what_it_prints(tmp_path: Path) -> None:
    blocks = page_blocks()
    shown = [
        (text.strip(), blocks[index + 1][1])
        for index, (lang, text) in enumerate(blocks[:-1])
        if lang == "sh" and text.strip().endswith("--dry-run") and blocks[index + 1][0] == "json"
    ]
    assert len(shown) >= 3
    for command, output in shown:
        result = send_pulse(shlex.split(command)[1:], host_env(tmp_path))
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout == output, command


def test_the_page_shows_the_usage_of_help(tmp_path: Path) -> None:
    usage = send_pulse(["--help"], host_env(tmp_path)).stdout.split("\n\n")[0]
    words = " ".join(usage.removeprefix("Usage: ").split())
    shown = [
        text for lang, text in page_blocks() if lang == "text" and text.startswith("send-pulse --bucket")
    ]
    assert [" ".join(text.split()) for text in shown] == [words]


def test_the_usage_errors_the_page_shows_are_what_send_pulse_says(tmp_path: Path) -> None:
    errors = {
        "--url must be an http:// or https:// URL": ["--url", "ftp://h/"],
        "--contains needs --url": ["--contains", "ok"],
        "--pause-until is more than 7 days ahead": ["--pause-until", in_days(8)],
    }
    shown = "".join(text for lang, text in page_blocks() if lang == "text")
    for start, args in errors.items():
        result = send_pulse(["--bucket", BUCKET, "--host", "h", *args], host_env(tmp_path))
        assert result.stderr.startswith(f"send-pulse: {start}")
        assert result.stderr in shown
