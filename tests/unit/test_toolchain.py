"""The test toolchain itself (tools/tf.py, tools/lambda_service.py): where the provider
comes from, the provider block for the emulator, and the clocks the tests move."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tools import tf
from tools.lambda_service import DeployedFunction

# --- where hashicorp/aws comes from ---


def _mirror(base: Path, layout: str = "unpacked") -> Path:
    """A filesystem mirror holding the tested provider in one of Terraform's two layouts."""
    provider = base / tf.AWS_PROVIDER_SOURCE
    if layout == "unpacked":
        target = provider / tf.AWS_PROVIDER_VERSION / tf.terraform_platform()
        target.mkdir(parents=True)
        (target / f"terraform-provider-aws_v{tf.AWS_PROVIDER_VERSION}_x5").write_bytes(b"binary")
    else:
        provider.mkdir(parents=True)
        name = f"terraform-provider-aws_{tf.AWS_PROVIDER_VERSION}_{tf.terraform_platform()}.zip"
        (provider / name).write_bytes(b"zip")
    return base


@pytest.mark.parametrize("layout", ["unpacked", "packed"])
def test_a_mirror_named_by_the_environment_is_used_in_either_layout(tmp_path: Path, layout: str) -> None:
    mirror = _mirror(tmp_path / "mirror", layout)
    assert tf.provider_mirror({tf.PROVIDER_MIRROR_ENV: str(mirror)}) == mirror


def test_a_named_mirror_without_the_provider_is_an_error_not_a_silent_download(tmp_path: Path) -> None:
    (tmp_path / tf.AWS_PROVIDER_SOURCE / "3.39.0").mkdir(parents=True)  # another version only
    with pytest.raises(tf.ToolchainError, match=tf.PROVIDER_MIRROR_ENV):
        tf.provider_mirror({tf.PROVIDER_MIRROR_ENV: str(tmp_path)})


def test_without_a_mirror_the_provider_comes_from_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tf, "DEFAULT_PROVIDER_MIRROR", tmp_path / "absent")
    assert tf.provider_mirror({}) is None
    text = tf.cli_config_text(None, tmp_path / "cache")
    assert "provider_installation" not in text
    assert f'plugin_cache_dir = "{tmp_path / "cache"}"' in text
    # ...and the generated roots pin the same version either way.
    assert f'version = "{tf.AWS_PROVIDER_VERSION}"' in tf.required_providers_block()


def test_the_machine_image_mirror_is_found_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tf, "DEFAULT_PROVIDER_MIRROR", _mirror(tmp_path))
    assert tf.provider_mirror({}) == tmp_path
    text = tf.cli_config_text(tmp_path, tmp_path / "cache")
    assert f'path    = "{tmp_path}"' in text
    assert f'include = ["{tf.AWS_PROVIDER_SOURCE}"]' in text
    assert f'exclude = ["{tf.AWS_PROVIDER_SOURCE}"]' in text  # never the network for it
    assert "plugin_cache_dir" not in text  # an unpacked mirror is linked, not copied


def test_the_emulator_provider_block_is_written_for_provider_5() -> None:
    block = tf.emulator_provider_block("http://127.0.0.1:4566")
    assert "s3_use_path_style           = true" in block
    for removed_in_5 in ("s3_force_path_style", "skip_get_ec2_platforms"):
        assert removed_in_5 not in block
    for setting in ("skip_credentials_validation", "skip_metadata_api_check", "skip_requesting_account_id"):
        assert f"{setting:<27} = true" in block
    for service in ("s3", "iam", "lambda", "events", "logs", "sts", "sns", "sqs", "scheduler", "ec2", "kms"):
        assert f'    {service:<9} = "http://127.0.0.1:4566"' in block


def test_warnings_are_read_from_terraform_output() -> None:
    output = (
        "Plan: 1 to add.\n╷\n│ Warning: Argument is deprecated\n│\n│   with aws_s3_bucket.b,\n"
        "│ Use the aws_s3_bucket_acl resource instead\n╵\n\nApply complete!"
    )
    assert tf.warnings(output) == ["Warning: Argument is deprecated"]
    assert tf.warnings("Success! The configuration is valid.\n") == []


# --- the clocks ---


@pytest.fixture(scope="module")
def emulator() -> Iterator[tf.Emulator]:
    with tf.Emulator() as server:
        yield server


def test_shifting_the_emulator_clock_moves_s3_and_sqs_time_at_once(emulator: tf.Emulator) -> None:
    s3 = emulator.boto3_client("s3")
    sqs = emulator.boto3_client("sqs")
    s3.create_bucket(Bucket="clock-test")
    queue = sqs.create_queue(QueueName="clock-test")["QueueUrl"]
    s3.put_object(Bucket="clock-test", Key="before", Body=b"")
    sqs.send_message(QueueUrl=queue, MessageBody="in ten minutes", DelaySeconds=600)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []

    offset = emulator.shift_clock(timedelta(minutes=16))
    s3.put_object(Bucket="clock-test", Key="after", Body=b"")  # the very next request

    assert offset == emulator.clock_offset >= timedelta(minutes=16)
    times = {
        item["Key"]: item["LastModified"] for item in s3.list_objects_v2(Bucket="clock-test")["Contents"]
    }
    assert timedelta(minutes=16) <= times["after"] - times["before"] < timedelta(minutes=17)
    assert abs(times["after"] - emulator.now()) < timedelta(seconds=30)
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]  # the delay has passed
    assert message["Body"] == "in ten minutes"


def test_the_emulator_clock_never_goes_back(emulator: tf.Emulator) -> None:
    before = emulator.clock_offset
    with pytest.raises(ValueError, match="forward"):
        emulator.shift_clock(timedelta(seconds=-1))
    assert emulator.clock_offset == before


def _function(tmp_path: Path, source: str) -> DeployedFunction:
    """A function whose zip holds ``clockfn.py`` with ``source``, as if deployed."""
    zip_path = tmp_path / "clockfn.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("clockfn.py", source)
    digest = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    return DeployedFunction(
        name="clockfn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:clockfn",
        handler="clockfn.handler",
        runtime="python3.12",
        timeout=30,
        memory_size=128,
        environment={},
        code_sha256=digest,
        zip_path=zip_path,
        endpoint="http://127.0.0.1:9",
        region="us-east-1",
    )


CLOCK_HANDLER = """
import time
from datetime import datetime, timezone

IMPORTED_AT = time.time()


def handler(event, context):
    return {"now": datetime.now(timezone.utc).isoformat(), "imported_at": IMPORTED_AT}
"""


def test_a_played_function_lives_at_the_offset_from_import_on(tmp_path: Path) -> None:
    function = _function(tmp_path, CLOCK_HANDLER)
    offset = timedelta(hours=3, minutes=16)

    shifted = function.invoke({}, {}, clock_offset=offset).result
    real = function.invoke({}, {}).result

    expected = datetime.now(timezone.utc) + offset
    assert abs(datetime.fromisoformat(shifted["now"]) - expected) < timedelta(seconds=30)
    assert abs(shifted["imported_at"] - expected.timestamp()) < 30  # module-level code too
    assert abs(datetime.fromisoformat(real["now"]) - datetime.now(timezone.utc)) < timedelta(seconds=30)


def test_a_played_function_refuses_a_clock_going_back(tmp_path: Path) -> None:
    function = _function(tmp_path, CLOCK_HANDLER)
    with pytest.raises(ValueError, match="forward"):
        function.invoke({}, {}, clock_offset=timedelta(seconds=-5))
