"""Upgrading a deployment of v0.1.0 to the working tree's module moves, never replaces.

v0.1.0 (commit 47c2e91) wrote each per-function resource twice; the module now writes
them once with for_each, and `moved` blocks (moved.tf) carry existing deployments to the
new addresses. This test does what a user does: deploy v0.1.0 as it was released (its
own files, its own `tools/build_zips.py`), then point the same root and state at the
new module, `terraform init` again, and plan. The plan must delete or replace nothing,
account for every resource of the old deployment at a new address, update in place only
the two functions (their code, handler, runtime, architecture, environment), their
role policies (the permissions the new code needs), and the schedule and the alarms'
period (the new default schedule), and create
only what ALLOWED_CREATES lists. Once applied, a second plan shows no changes, and the
module's outputs keep their names and values (but the new default schedule's period).

It runs on its own emulator (tools.tf.Emulator) with the provider tools.tf provides.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Timings
from tools import build_zips, tf

ROOT = tf.ROOT
PREVIOUS_RELEASE = "v0.1.0"
PREVIOUS_COMMIT = "47c2e91"  # v0.1.0; a clean clone has it even where tags were not fetched
MODULE = "pulse_echo"
PREFIX = "e2e-upgrade"
BUCKET = "pulse-echo-e2e-upgrade"

# Resources the new version may add to an existing deployment (module-relative
# addresses, e.g. 'aws_lambda_function_url.this["check_result"]'): the lifecycle rule that
# expires the history of status changes.
ALLOWED_CREATES: frozenset[str] = frozenset({"aws_s3_bucket_lifecycle_configuration.this"})

# What an upgrade may change in place, and on which resource type: the functions'
# code (a new zip, its path and hash), handler, runtime, architecture, memory and environment,
# with the attributes AWS recomputes when any of those change; and the functions' role
# policies, which grant what the new code reads and writes (check_echo: echo/* and failure/*,
# to date a run of failures; check_result: pulse/* and echo/*, for each host's threshold, kind
# and pause, and a recovered job's report, and history/* for the history of status changes).
FUNCTION_ATTRIBUTES = frozenset(
    {
        "filename",
        "source_code_hash",
        "code_sha256",
        "source_code_size",
        "handler",
        "runtime",
        "architectures",
        "environment",
        # check_result's default memory, now 384 MB: a sweep of 50,000 hosts within half a minute
        "memory_size",
        # recomputed by AWS on any code or configuration update
        "last_modified",
        "version",
        "qualified_arn",
        "qualified_invoke_arn",
    }
)
UPDATABLE: dict[str, frozenset[str]] = {
    "aws_lambda_function": FUNCTION_ATTRIBUTES,
    "aws_iam_role_policy": frozenset({"policy"}),
    # The default schedule is now rate(1 minute) (deadline checks inside each minute): a
    # deployment that kept the default gets the new expression, and its alarms the new period.
    "aws_cloudwatch_event_rule": frozenset({"schedule_expression", "description"}),
    "aws_cloudwatch_metric_alarm": frozenset({"period"}),
}

# Since v0.2.0 every taggable resource carries its instance's bucket (pulse-echo:bucket):
# an upgrade adds that tag, in place, and changes no other tag.
INSTANCE_TAG = {"pulse-echo:bucket": BUCKET}
TAG_ATTRIBUTES = frozenset({"tags", "tags_all"})
# While the tag is added to the bucket and the log groups, the policy documents built from
# their ARNs are read at apply (Terraform defers a data source whose dependencies change),
# so these policies show "(known after apply)" (the role policies may change anyway:
# UPDATABLE). The bucket policy's text does not change: the plan after the upgrade, which
# this test requires to be empty, proves it.
DEFERRED_POLICY_TYPES = frozenset({"aws_s3_bucket_policy"})

# Every optional branch that adds or shapes a per-function resource: alarms, the
# failure destination, SNS alerts, check_echo in a VPC, reserved concurrency, tags.
ARGUMENTS: dict[str, object] = {
    "bucket_name": BUCKET,
    "name_prefix": PREFIX,
    "alert_webhook_url": "https://hooks.example.com/services/T000/B000/UPGRADE",
    "slack_channel": "#medical-check",
    "alert_sns_topic_arn": tf.Raw("aws_sns_topic.oncall.arn"),
    "alarm_sns_topic_arn": tf.Raw("aws_sns_topic.oncall.arn"),
    "alarms_enabled": True,
    "failure_destination_arn": tf.Raw("aws_sqs_queue.failed_invocations.arn"),
    "vpc_subnet_ids": [tf.Raw("aws_subnet.probes.id")],
    "vpc_security_group_ids": [tf.Raw("aws_security_group.probes.id")],
    "tags": {"suite": "e2e-upgrade"},
}

ROOT_EXTRAS = """
resource "aws_sns_topic" "oncall" {
  name = "e2e-upgrade-oncall"
}

resource "aws_sqs_queue" "failed_invocations" {
  name = "e2e-upgrade-failed-invocations"
}

resource "aws_vpc" "probes" {
  cidr_block = "10.43.0.0/16"
}

resource "aws_subnet" "probes" {
  vpc_id     = aws_vpc.probes.id
  cidr_block = "10.43.1.0/24"
}

resource "aws_security_group" "probes" {
  name   = "e2e-upgrade-probes"
  vpc_id = aws_vpc.probes.id
}

output "module" {
  value = module.pulse_echo
}
"""

# Terraform override file: the root calls the previous release until it is removed.
OVERRIDE_FILE = "upgrade_from_override.tf"


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, check=False)


def _export_previous_release(target: Path) -> Path:
    """Extract the tree of PREVIOUS_COMMIT into ``target`` (skips the test when impossible)."""
    if shutil.which("git") is None:
        pytest.skip(f"UPGRADE NOT TESTED: git is not installed, so {PREVIOUS_RELEASE} cannot be exported")
    found = _git("rev-parse", "--verify", "--quiet", f"{PREVIOUS_COMMIT}^{{commit}}")
    if found.returncode != 0:
        pytest.skip(
            f"UPGRADE NOT TESTED: {ROOT} is not a git checkout holding {PREVIOUS_RELEASE} "
            f"({PREVIOUS_COMMIT}); run the suite from a clone of the repository"
        )
    archive = _git("archive", "--format=tar", PREVIOUS_COMMIT)
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {PREVIOUS_COMMIT} failed: {archive.stderr.decode(errors='replace')}")
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def _build_previous_zips(module_dir: Path) -> None:
    """Build the previous release's zips with its own builder, into its own build/."""
    subprocess.run(
        [sys.executable, "tools/build_zips.py"], cwd=module_dir, check=True, capture_output=True, text=True
    )


def _managed_addresses(state: dict[str, Any]) -> set[str]:
    """Addresses of the module's managed resource instances in ``terraform show -json`` state."""
    addresses: set[str] = set()
    pending = [state.get("values", {}).get("root_module", {})]
    while pending:
        module = pending.pop()
        pending.extend(module.get("child_modules", []))
        for resource in module.get("resources", []):
            if resource["mode"] == "managed" and resource["address"].startswith(f"module.{MODULE}."):
                addresses.add(resource["address"])
    return addresses


def _changed_attributes(change: dict[str, Any]) -> set[str]:
    """Top-level attributes whose planned value differs from the current one (or becomes unknown)."""
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    return {
        name
        for name in before.keys() | after.keys() | unknown.keys()
        if before.get(name) != after.get(name) or unknown.get(name) is True
    }


def _relative(address: str) -> str:
    return address.removeprefix(f"module.{MODULE}.")


def _upgrade_problems(changes: list[dict[str, Any]], old_addresses: set[str]) -> list[str]:
    """What in the plan's ``resource_changes`` an upgrade must not do (empty: a clean upgrade).

    Nothing deleted or replaced; every old address accounted for (kept, or moved by a
    ``moved`` block); creates only of ALLOWED_CREATES; in-place updates only of
    the attributes UPDATABLE lists for their type, of INSTANCE_TAG added, and of the
    bucket policy read at apply (DEFERRED_POLICY_TYPES).
    """
    problems: list[str] = []
    accounted: set[str] = set()
    for change in changes:
        address, actions = change["address"], change["change"]["actions"]
        previous_address = change.get("previous_address", address)
        accounted.add(previous_address)
        if actions == ["no-op"]:
            continue
        if "delete" in actions:
            problems.append(f"{address} (was {previous_address}): {'/'.join(actions)}, not kept in place")
        elif actions == ["create"]:
            if _relative(address) not in ALLOWED_CREATES:
                problems.append(f"{address}: created, not in ALLOWED_CREATES")
        elif actions == ["update"]:
            changed = _changed_attributes(change["change"])
            if changed & TAG_ATTRIBUTES:
                problems += _tag_problems(address, change["change"])
                changed -= TAG_ATTRIBUTES
                if not changed:
                    continue
            if (
                change["type"] in DEFERRED_POLICY_TYPES
                and changed == {"policy"}
                and (change["change"].get("after_unknown") or {}).get("policy") is True
            ):
                continue
            allowed = UPDATABLE.get(change["type"])
            if allowed is None:
                problems.append(f"{address}: updated ({sorted(changed)}), only {sorted(UPDATABLE)} may be")
            elif not changed <= allowed:
                problems.append(f"{address}: unexpected changes to {sorted(changed - allowed)}")
        else:
            problems.append(f"{address}: unexpected actions {actions}")
    missing = sorted(old_addresses - accounted)
    problems += [f"{address}: in the old deployment, at no address of the new plan" for address in missing]
    return problems


def _tag_problems(address: str, change: dict[str, Any]) -> list[str]:
    """Unless the only tag change is INSTANCE_TAG added: what else changed."""
    before, after = change.get("before") or {}, change.get("after") or {}
    problems = []
    for attribute in sorted(TAG_ATTRIBUTES):
        old, new = before.get(attribute) or {}, after.get(attribute) or {}
        if new != {**old, **INSTANCE_TAG}:
            problems.append(f"{address}: {attribute} {old} -> {new}, not only {INSTANCE_TAG} added")
    return problems


def _planned_changes(terraform: tf.Terraform, plan_file: str) -> list[dict[str, Any]]:
    """``terraform plan -out=plan_file``, then its module resource changes from ``show -json``."""
    terraform.run("plan", f"-out={plan_file}", "-input=false", "-no-color")
    _, plan_json, _ = terraform.run("show", "-json", "-no-color", plan_file)
    return [
        change
        for change in json.loads(plan_json).get("resource_changes", [])
        if change["mode"] == "managed" and change["address"].startswith(f"module.{MODULE}.")
    ]


def _drift_after_upgrade(changes: list[dict[str, Any]], emulator: tf.Emulator) -> list[str]:
    """The changes a plan right after the upgrade's apply still wants (empty: none).

    One allowance, for an emulator gap and only while it lasts: moto 5.2 ignores
    ``Architectures`` in UpdateFunctionCode (real Lambda applies it), so a function
    moved to another architecture reads back with its old one and the plan wants the
    move again. That difference alone is let through when the emulator shows the gap.
    """
    leftovers = []
    gap: bool | None = None
    for change in changes:
        if change["change"]["actions"] == ["no-op"]:
            continue
        if (
            change["type"] == "aws_lambda_function"
            and change["change"]["actions"] == ["update"]
            and _changed_attributes(change["change"]) <= {"architectures", "last_modified"}
        ):
            if gap is None:
                gap = _emulator_ignores_architecture_updates(emulator, change["change"]["before"]["role"])
            if gap:
                continue
        leftovers.append(f"{change['address']}: {'/'.join(change['change']['actions'])}")
    return leftovers


def _emulator_ignores_architecture_updates(emulator: tf.Emulator, role_arn: str) -> bool:
    """Whether the emulator drops ``Architectures`` from UpdateFunctionCode (tried on a scratch function)."""
    lambda_client = emulator.boto3_client("lambda")
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("probe.py", "def handler(event, context):\n    return None\n")
    name = f"{PREFIX}-architecture-probe"
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role_arn,
        Handler="probe.handler",
        Code={"ZipFile": package.getvalue()},
        Architectures=["x86_64"],
    )
    try:
        lambda_client.update_function_code(
            FunctionName=name, ZipFile=package.getvalue(), Architectures=["arm64"]
        )
        reported = lambda_client.get_function_configuration(FunctionName=name)["Architectures"]
    finally:
        lambda_client.delete_function(FunctionName=name)
    return reported != ["arm64"]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tf.Emulator]:
    """An emulator of its own: nothing here can disturb the main deployment's checks."""
    log = tmp_path_factory.mktemp("moto-upgrade") / "moto_server.log"
    with tf.Emulator(log_path=log) as server:
        yield server


def _empty_bucket(emulator: tf.Emulator) -> None:
    """Delete every object with boto3 (provider 5.x force_destroy can loop on moto)."""
    s3 = emulator.boto3_client("s3")
    if BUCKET not in {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}:
        return
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])


def test_upgrading_a_deployment_of_the_previous_release_moves_every_resource_in_place(
    emulator: tf.Emulator, tmp_path: Path, timings: Timings
) -> None:
    new_zips = [build_zips.DIST / f"{name}.zip" for name in ("check_echo", "check_result")]
    missing = [str(path) for path in new_zips if not path.is_file()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: the module's committed zips (make build writes them)")
    previous = _export_previous_release(tmp_path / PREVIOUS_RELEASE)
    _build_previous_zips(previous)

    root = tmp_path / "root"
    tf.write_root(root, emulator.endpoint, MODULE, ARGUMENTS, ROOT_EXTRAS)
    (root / OVERRIDE_FILE).write_text(
        f'module "{MODULE}" {{\n  source = {tf.hcl_string(tf.local_source(previous, root))}\n}}\n',
        encoding="utf-8",
    )
    terraform = tf.Terraform(root)
    terraform.init()
    try:
        timings.record(f"apply ({PREVIOUS_RELEASE})", terraform.apply())
        old_outputs = terraform.outputs()["module"]
        _, state_json, _ = terraform.run("show", "-json", "-no-color")
        old_addresses = _managed_addresses(json.loads(state_json))
        assert f"module.{MODULE}.aws_lambda_function.check_echo" in old_addresses, sorted(old_addresses)

        # The upgrade: same root, same state, the working tree's module.
        started = time.monotonic()
        (root / OVERRIDE_FILE).unlink()
        terraform.init()
        changes = _planned_changes(terraform, "upgrade.tfplan")
        problems = _upgrade_problems(changes, old_addresses)
        moved = sorted(
            f"{change['previous_address']} -> {change['address']}"
            for change in changes
            if "previous_address" in change
        )
        assert not problems, "\n".join([*problems, "moved:", *moved])
        assert moved, "no resource moved: is the previous release's module really the old layout?"

        # The plan as saved is what apply does; afterwards nothing is left to change.
        terraform.run("apply", "-input=false", "-no-color", "upgrade.tfplan")
        timings.record("upgrade (init, plan, apply)", time.monotonic() - started)
        leftovers = _drift_after_upgrade(_planned_changes(terraform, "after.tfplan"), emulator)
        assert not leftovers, "a plan after the upgrade wants changes:\n" + "\n".join(leftovers)
        new_outputs = terraform.outputs()["module"]
        # Every output keeps its name and value, but the period of the new default schedule.
        assert (old_outputs["schedule_period_seconds"], new_outputs["schedule_period_seconds"]) == (600, 60)
        kept = {name: value for name, value in old_outputs.items() if name != "schedule_period_seconds"}
        assert {name: new_outputs.get(name) for name in kept} == kept
    finally:
        _empty_bucket(emulator)
        timings.record("destroy (upgraded)", terraform.destroy())
