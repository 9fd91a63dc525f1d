"""Every setting is defined once (pulse_echo.settings), and variables.tf agrees with it.

The module's inputs are read from the Terraform files with tools/tfdocs.py's
HCL reader: a variable's default and its validation bounds (``var.x > 0``,
``var.x <= 60``, ``floor(var.x) == var.x``, ``contains([...], var.x)``) must
be the table's, and the environment Terraform gives each function must map
each variable to the setting that reads it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from check_result.handler import Config as CheckResultConfig
from pulse_echo import settings
from pulse_echo.settings import BOOL, CHOICE, FLOAT, INT, TEXT, ConfigError, Setting

from tools import tfdocs

TF_FILES = sorted(tfdocs.ROOT.glob("*.tf"))
NUMBER = r"(-?[0-9][0-9_.e]*)"


@dataclass(frozen=True)
class Variable:
    """What a variable block says: its default (source text, None when required) and its
    validation bounds, read from the conditions' source text."""

    default: str | None
    minimum: float | None
    minimum_allowed: bool
    maximum: float | None
    integer: bool
    choices: tuple[str, ...]


def read_variables() -> dict[str, Variable]:
    variables = {}
    for path in TF_FILES:
        for block in tfdocs.parse(path.read_text(encoding="utf-8"), path.name):
            if block.type != "variable":
                continue
            name = block.labels[0]
            ref = rf"var\.{name}\b"
            conditions = " && ".join(
                nested.attributes["condition"] for nested in block.blocks if nested.type == "validation"
            )
            low = re.search(rf"{ref}\s*(>=|>)\s*{NUMBER}", conditions)
            high = re.search(rf"{ref}\s*<=\s*{NUMBER}", conditions)
            listed = re.search(rf"contains\(\[([^\]]*)\],\s*{ref}\)", conditions)
            variables[name] = Variable(
                default=block.attributes.get("default"),
                minimum=float(low.group(2)) if low else None,
                minimum_allowed=bool(low) and low.group(1) == ">=",
                maximum=float(high.group(1)) if high else None,
                integer=f"floor(var.{name}) == var.{name}" in conditions,
                choices=tuple(json.loads(f"[{listed.group(1)}]")) if listed else (),
            )
    return variables


VARIABLES = read_variables()
WITH_VARIABLE = [setting for setting in settings.SETTINGS if setting.variable is not None]
DISAGREEMENTS: dict[str, str] = {}
"""Settings where variables.tf and the Python knowingly differ (none): each would be xfailed, strictly."""


def _param(setting: Setting) -> object:
    reason = DISAGREEMENTS.get(setting.env)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(setting, id=setting.env, marks=marks)


@pytest.mark.parametrize("setting", [_param(s) for s in WITH_VARIABLE])
def test_variables_tf_has_the_settings_default_and_bounds(setting: Setting) -> None:
    variable = VARIABLES[setting.variable]
    if setting.kind in (INT, FLOAT):
        assert variable.default is not None
        assert float(variable.default) == setting.default
        assert (variable.minimum, variable.minimum_allowed, variable.maximum, variable.integer) == (
            setting.minimum,
            setting.minimum_allowed if setting.minimum is not None else False,
            setting.maximum,
            setting.kind == INT,
        )
    elif setting.kind == BOOL:
        assert variable.default == json.dumps(setting.default)
    elif setting.kind == CHOICE:
        assert (json.loads(variable.default or "null"), variable.choices) == (
            setting.default,
            setting.choices,
        )
    else:
        assert setting.kind == TEXT
        assert setting.default is None
        assert variable.default in (None, "null")


def test_terraform_gives_each_function_its_settings_from_the_matching_variable() -> None:
    source = "\n".join(path.read_text(encoding="utf-8") for path in TF_FILES)
    passed = dict(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=\s*(?:tostring\()?var\.([a-z0-9_]+)", source))
    table = {setting.env: setting.variable for setting in WITH_VARIABLE}

    assert passed == {env: variable for env, variable in table.items() if env != settings.BUCKET.env}
    assert "PULSE_ECHO_BUCKET" in source  # the bucket's id, not the variable
    assert "RUN_LEASE_SECONDS" in source  # a local: check_result_timeout_seconds + 60


def test_the_table_names_every_variable_once() -> None:
    names = [setting.env for setting in settings.SETTINGS]
    assert len(names) == len(set(names))
    assert all(setting.kind in (INT, FLOAT, BOOL, TEXT, CHOICE) for setting in settings.SETTINGS)


# --- the readers ---


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (settings.PROBE_CONNECT_TIMEOUT, "61", "must be at most 60"),
        (settings.PROBE_READ_TIMEOUT, "121", "must be at most 120"),
        (settings.PROBE_MAX_REDIRECTS, "11", "must be at most 10"),
        (settings.PROBE_MAX_BODY_BYTES, "10485761", "must be at most 1.04858e+07"),
        (settings.WEBHOOK_TIMEOUT, "61", "must be at most 60"),
        (settings.WEBHOOK_MAX_ATTEMPTS, "11", "must be at most 10"),
        (settings.PULSE_MAX_BYTES, "1" * 5000, "is not an integer"),
        (settings.STALE_AFTER, "0", "must be > 0"),
        (settings.RENOTIFY, "-1", "must be >= 0"),
    ],
)
def test_a_value_out_of_bounds_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, setting: Setting, value: str, message: str
) -> None:
    monkeypatch.setenv(setting.env, value)

    with pytest.raises(ConfigError, match=f"{setting.env}=.*{re.escape(message)}"):
        settings.number(setting)


def test_the_bounds_themselves_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in (settings.PROBE_CONNECT_TIMEOUT, settings.WEBHOOK_TIMEOUT, settings.PROBE_MAX_REDIRECTS):
        monkeypatch.setenv(setting.env, f"{setting.maximum:g}")
        assert settings.number(setting) == setting.maximum
    monkeypatch.setenv(settings.RUN_LEASE.env, "86400")
    assert settings.duration(settings.RUN_LEASE) == timedelta(days=1)


def test_unset_or_blank_gives_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.PULSE_MAX_BYTES.env, "  ")
    monkeypatch.delenv(settings.ALLOW_PRIVATE_TARGETS.env, raising=False)
    monkeypatch.delenv(settings.WEBHOOK_FORMAT.env, raising=False)

    assert settings.integer(settings.PULSE_MAX_BYTES) == 65536
    assert settings.flag(settings.ALLOW_PRIVATE_TARGETS) is False
    assert settings.choice(settings.WEBHOOK_FORMAT) == "slack"


@pytest.mark.parametrize("bucket", ["作成したバケット", "Upper_Case", "ab"])
def test_check_result_refuses_a_bucket_name_s3_cannot_have_as_check_echo_does(
    monkeypatch: pytest.MonkeyPatch, bucket: str
) -> None:
    monkeypatch.setenv("PULSE_ECHO_BUCKET", bucket)
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "https://hooks.example/x")

    with pytest.raises(ConfigError, match=r"PULSE_ECHO_BUCKET=.*not a valid S3 bucket name"):
        CheckResultConfig.from_env()
