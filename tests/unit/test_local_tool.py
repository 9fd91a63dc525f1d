"""tools/local.py and the emulator it keeps running (docs/local.md). The whole walk-through runs
in tests/e2e/test_day_one.py; here, what needs no Terraform: the emulator outliving the command
that started it, its clock, the answers without an emulator, and the emulator's IAM gap filled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.helpers import ROOT, assert_one_line_error, run_command
from tools import local as local_tool
from tools import tf

LOCAL = ROOT / "tools" / "local.py"


def local(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PULSE_ECHO_LOCAL_DIR": str(state_dir)}
    return run_command([sys.executable, str(LOCAL), *args], environment, state_dir.parent, timeout=120)


def test_the_emulator_outlives_up_until_down_and_leaves_no_process(tmp_path: Path) -> None:
    state = tmp_path / "local"
    started = local(state, "up")
    assert started.returncode == 0, started.stderr
    pid = json.loads((state / "emulator.json").read_text(encoding="utf-8"))["pid"]
    try:
        assert "already running" in local(state, "up").stdout
        assert "clock 0 s ahead" in local(state, "status").stdout
        assert "20 min 0 s ahead" in local(state, "clock", "+20m").stdout
        assert "21 min 30 s ahead" in local(state, "clock", "+90s").stdout
        assert "21 min 30 s ahead" in local(state, "clock").stdout
        port = json.loads((state / "emulator.json").read_text(encoding="utf-8"))["port"]
        provider = local(state, "provider").stdout
        assert provider.startswith('provider "aws" {')
        assert f's3        = "http://127.0.0.1:{port}"' in provider
        exports = local(state, "env").stdout
        assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in exports
        assert "export TF_CLI_CONFIG_FILE=" in exports
    finally:
        stopped = local(state, "down")
    assert stopped.returncode == 0, stopped.stderr
    assert f"pid {pid}" in stopped.stdout
    assert not local_tool._alive(pid), f"the emulator (pid {pid}) still runs"
    assert not (state / "emulator.json").exists()
    assert "No emulator is running" in local(state, "status").stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["clock"], "no emulator is running: start it with"),
        (["invoke", "check_result"], "no emulator is running"),
        (["terraform"], "name a Terraform command"),
        (["tool", "pulse-nothing"], "name an operator tool: pulse-forget, pulse-pause, pulse-status"),
    ],
)
def test_without_an_emulator_each_command_says_what_to_do_in_one_line(
    tmp_path: Path, args: list[str], words: str
) -> None:
    result = local(tmp_path / "local", *args)
    assert result.returncode == 1
    assert_one_line_error("local.py", result.stderr, words)


def test_a_clock_shift_must_be_a_forward_duration(tmp_path: Path) -> None:
    state = tmp_path / "local"
    assert local(state, "up").returncode == 0
    try:
        result = local(state, "clock", "5 minutes")
        assert result.returncode == 1
        assert_one_line_error("local.py", result.stderr, "is not a duration")
    finally:
        local(state, "down")


def test_the_emulator_answers_iam_list_service_specific_credentials() -> None:
    """The AWS provider destroys a force_destroy IAM user with it; moto alone answers 500."""
    with tf.Emulator() as emulator:
        iam = emulator.boto3_client("iam")
        iam.create_user(UserName="pulse-echo-pulse-sender")
        answer = iam.list_service_specific_credentials(UserName="pulse-echo-pulse-sender")
        assert answer["ServiceSpecificCredentials"] == []
        with pytest.raises(ClientError) as raised:
            iam.list_service_specific_credentials(UserName="nobody")
        assert raised.value.response["Error"]["Code"] == "NoSuchEntity"
