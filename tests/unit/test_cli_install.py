"""The operator tools as commands: installed from the repository (what ``pipx install`` does),
and their first words to a user who gives an ``s3://`` URL or a bucket no host has used yet.

The install runs pip against a copy of the repository's package files (so that no build
output lands in the checkout), offline: ``--no-build-isolation --no-index`` builds with the
setuptools pinned in requirements-dev.txt. The installed commands then run in a directory
that holds no source, so they can only work from what was installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from pulse_echo_cli import aws as cli_aws
from pulse_echo_cli.status import no_hosts_yet

from tests.helpers import ROOT, assert_one_line_error, cli_env, run_cli, run_command, s3_with_bucket

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
COMMANDS = sorted(PYPROJECT["project"]["scripts"])
PACKAGES = set(PYPROJECT["tool"]["setuptools"]["packages"])
# What each command needs besides --bucket to get past argparse (to the bucket check).
OTHER_ARGUMENTS = {
    "pulse-status": [],
    "pulse-forget": ["--yes", "web-1"],
    "pulse-pause": ["--for", "1h", "--all"],
}
EMPTY_BUCKET = "pulse-echo-no-hosts-yet"


def other_arguments(command: str) -> list[str]:
    if command not in OTHER_ARGUMENTS:
        pytest.fail(f"{command}: add the arguments it needs besides --bucket to OTHER_ARGUMENTS")
    return OTHER_ARGUMENTS[command]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --target`` of the repository's package: the directory it installed into."""
    source = tmp_path_factory.mktemp("checkout")
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(ROOT / "lambda_src", source / "lambda_src", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("installed")
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *offline, "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def run_installed(
    installed: Path, command: str, args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return run_command([str(installed / "bin" / command), *args], {**env, "PYTHONPATH": str(installed)}, cwd)


def test_installing_the_repository_gives_every_command(installed: Path) -> None:
    assert sorted(path.name for path in (installed / "bin").iterdir()) == COMMANDS
    packages = {path.name for path in installed.iterdir() if (path / "__init__.py").is_file()}
    assert packages == PACKAGES


@pytest.mark.parametrize("command", COMMANDS)
def test_an_installed_command_runs_without_the_checkout(
    installed: Path, command: str, tmp_path: Path, moto_endpoint: str
) -> None:
    env = cli_env(tmp_path, moto_endpoint)
    result = run_installed(installed, command, ["--help"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {command} ")

    # A real call that reaches S3: a bucket that does not exist is one line and status 1.
    result = run_installed(
        installed, command, ["--bucket", "no-such-bucket-here", *other_arguments(command)], env, tmp_path
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert_one_line_error(command, result.stderr, "no-such-bucket-here")


def test_pulse_status_on_a_bucket_no_host_has_used_says_no_hosts_yet(
    installed: Path, tmp_path: Path, moto_endpoint: str
) -> None:
    s3_with_bucket(moto_endpoint, EMPTY_BUCKET)
    result = run_installed(
        installed, "pulse-status", ["--bucket", EMPTY_BUCKET], cli_env(tmp_path, moto_endpoint), tmp_path
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == no_hosts_yet(EMPTY_BUCKET) + "\n"
    assert result.stdout.startswith(f"No hosts yet in s3://{EMPTY_BUCKET}: nothing under pulse/ or echo/.\n")
    assert f"send-pulse --bucket {EMPTY_BUCKET}" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("bucket", "words"),
    [
        ("s3://my-pulse-echo-bucket", "not an s3:// URL (--bucket my-pulse-echo-bucket)"),
        ("S3://my-pulse-echo-bucket/pulse/", "not an s3:// URL (--bucket my-pulse-echo-bucket)"),
        ("My_Bucket", "'My_Bucket' is not an S3 bucket name"),
        ("arn:aws:s3:::my-pulse-echo-bucket", "is not an S3 bucket name"),
    ],
)
def test_a_bucket_argument_that_is_not_a_bucket_name_is_one_line_and_status_2(
    command: str, bucket: str, words: str, tmp_path: Path
) -> None:
    """Refused before any AWS call: no credentials or endpoint are needed to be told."""
    result = run_cli(
        command, ["--bucket", bucket, *other_arguments(command)], cli_env(tmp_path, None, credentials=False)
    )
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert_one_line_error(command, result.stderr, words)


def test_the_bucket_check_accepts_every_name_the_module_accepts() -> None:
    for name in ("my-pulse-echo-bucket", "pulse.echo.example.com", "a1b", "x" * 63):
        assert cli_aws.bucket_problem(name) is None, name


def test_the_documented_empty_bucket_answer_is_what_pulse_status_prints() -> None:
    page = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    lines = [line.strip() for line in page.splitlines()]  # inside a list item
    for line in no_hosts_yet("my-pulse-echo-bucket").splitlines():
        assert line in lines, f"docs/deployment.md should show: {line}"
