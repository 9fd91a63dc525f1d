"""Every setting of both functions, defined once: environment variable, default, bounds, unit.

SETTINGS is the table; the typed readers below read a setting from the
environment once, validate it and raise ConfigError naming the variable.
Terraform passes each setting from a module input (``Setting.variable``);
tests/unit/test_settings.py holds variables.tf's defaults and validation
bounds to this table. Standard library only.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import timedelta

from .layout import is_valid_bucket_name

INT, FLOAT, BOOL, TEXT, CHOICE = "int", "float", "bool", "text", "choice"


class ConfigError(ValueError):
    """An environment variable is missing or invalid; the message names it."""


SAME = "="
"""``Setting.variable`` default: the module input is the variable's name in lower case."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: ``kind`` (int, float, bool, text or choice), ``default``
    (None: unset), bounds (``minimum`` is exclusive unless ``minimum_allowed``; ``maximum``
    inclusive), ``choices`` for a choice, ``unit`` and the module input that sets it
    (``variable``; None when Terraform computes the value)."""

    env: str
    kind: str
    default: object = None
    minimum: float | None = None
    minimum_allowed: bool = True
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    variable: str | None = SAME

    def __post_init__(self) -> None:
        if self.variable == SAME:
            object.__setattr__(self, "variable", self.env.lower())


def _positive(env: str, default: float, maximum: float, unit: str, variable: str | None = SAME) -> Setting:
    """A FLOAT setting > 0 and at most ``maximum``."""
    return Setting(env, FLOAT, default, 0, False, maximum, unit=unit, variable=variable)


# --- both functions ---
BUCKET = Setting("PULSE_ECHO_BUCKET", TEXT, variable="bucket_name")
LOG_LEVEL = Setting("LOG_LEVEL", CHOICE, "INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))

# --- check_echo ---
PULSE_MAX_BYTES = Setting("PULSE_MAX_BYTES", INT, 65536, minimum=1, unit="bytes")
PROBE_CONNECT_TIMEOUT = _positive("PROBE_CONNECT_TIMEOUT_SECONDS", 3.0, 60, "seconds")
PROBE_READ_TIMEOUT = _positive("PROBE_READ_TIMEOUT_SECONDS", 5.0, 120, "seconds")
PROBE_MAX_REDIRECTS = Setting("PROBE_MAX_REDIRECTS", INT, 3, minimum=0, maximum=10)
PROBE_MAX_BODY_BYTES = Setting(
    "PROBE_MAX_BODY_BYTES", INT, 65536, minimum=1, maximum=10_485_760, unit="bytes"
)
ALLOW_PRIVATE_TARGETS = Setting("ALLOW_PRIVATE_TARGETS", BOOL, False)

# --- check_result ---
# A year at most: far larger values overflow datetime (year 9999) on every run.
STALE_AFTER = _positive("STALE_AFTER_MINUTES", 15.0, 525_600, "minutes")
RENOTIFY = Setting("RENOTIFY_MINUTES", FLOAT, 0.0, minimum=0, maximum=525_600, unit="minutes")
WEBHOOK_URL = Setting("ALERT_WEBHOOK_URL", TEXT)
WEBHOOK_SSM_PARAMETER = Setting("ALERT_WEBHOOK_SSM_PARAMETER_NAME", TEXT)
WEBHOOK_FORMAT = Setting("ALERT_WEBHOOK_FORMAT", CHOICE, "slack", choices=("slack", "json"))
SLACK_CHANNEL = Setting("SLACK_CHANNEL", TEXT)
SLACK_USERNAME = Setting("SLACK_USERNAME", TEXT)
SLACK_ICON_EMOJI = Setting("SLACK_ICON_EMOJI", TEXT)
MAX_HOSTS_LISTED = Setting("ALERT_MAX_HOSTS_LISTED", INT, 20, minimum=0)
SNS_TOPIC_ARN = Setting("ALERT_SNS_TOPIC_ARN", TEXT)
WEBHOOK_TIMEOUT = _positive("WEBHOOK_TIMEOUT_SECONDS", 10.0, 60, "seconds")
WEBHOOK_MAX_ATTEMPTS = Setting("WEBHOOK_MAX_ATTEMPTS", INT, 3, minimum=1, maximum=10)
# A day at most; Terraform sets it to check_result_timeout_seconds + 60 (no input of its own).
RUN_LEASE = _positive("RUN_LEASE_SECONDS", 900.0, 86_400, "seconds", variable=None)
# Seconds between two scheduled check_result runs: Terraform passes the period of a rate(...)
# schedule (or schedule_period_seconds); unset, the shortest EventBridge allows. An invocation
# checks deadlines until shortly before the next run (check_result.window).
SCHEDULE_PERIOD = Setting(
    "SCHEDULE_PERIOD_SECONDS", INT, 60, minimum=60, maximum=31_536_000, unit="seconds", variable=None
)
# Changed pulses check_result reads in one run (each one GET); the others wait for the next run.
# No module input: the default keeps a run of the 50,000-host benchmark inside the timeout.
PULSE_READS = Setting("PULSE_READS_PER_RUN", INT, 1000, minimum=1, maximum=100_000, variable=None)

SETTINGS: tuple[Setting, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, Setting)
)
"""Every setting, in the order above."""


def raw(setting: Setting) -> str | None:
    """The variable stripped, or None when unset or empty."""
    return os.environ.get(setting.env, "").strip() or None


def text(setting: Setting) -> str | None:
    """The variable stripped, or the setting's default when unset or empty."""
    value = raw(setting)
    return setting.default if value is None else value  # type: ignore[return-value]


def required(setting: Setting) -> str:
    """The variable stripped; ConfigError when unset or empty."""
    value = text(setting)
    if value is None:
        raise ConfigError(f"environment variable {setting.env} is required")
    return value


def bucket() -> str:
    """``PULSE_ECHO_BUCKET``, required and a valid S3 bucket name (ConfigError otherwise)."""
    name = required(BUCKET)
    if not is_valid_bucket_name(name):
        raise ConfigError(f"environment variable {BUCKET.env}={name!r} is not a valid S3 bucket name")
    return name


def number(setting: Setting) -> float:
    """A FLOAT or INT setting: a finite number within the setting's bounds (INT: an integer).

    Raises ConfigError naming the variable otherwise; unset or empty gives the default.
    """
    given = raw(setting)
    if given is None:
        return setting.default  # type: ignore[return-value]
    name = setting.env
    try:
        value: float = int(given) if setting.kind == INT else float(given)
    except ValueError:
        kind = "an integer" if setting.kind == INT else "a number"
        raise ConfigError(f"environment variable {name}={given!r} is not {kind}") from None
    if setting.kind != INT and not math.isfinite(value):
        raise ConfigError(f"environment variable {name}={given!r} is not a finite number")
    low = setting.minimum
    if low is not None and (value < low or (value == low and not setting.minimum_allowed)):
        bound = ">=" if setting.minimum_allowed else ">"
        raise ConfigError(f"environment variable {name}={given!r} must be {bound} {low:g}")
    if setting.maximum is not None and value > setting.maximum:
        raise ConfigError(f"environment variable {name}={given!r} must be at most {setting.maximum:g}")
    return value


def integer(setting: Setting) -> int:
    """An INT setting (see number)."""
    return int(number(setting))


def duration(setting: Setting) -> timedelta:
    """A FLOAT setting in ``minutes`` or ``seconds`` as a timedelta (see number); ConfigError too
    when a positive value is so small that it rounds to 0 microseconds."""
    value = number(setting)
    span = timedelta(**{setting.unit: value})
    if value > 0 and span <= timedelta(0):
        raise ConfigError(
            f"environment variable {setting.env}={value!r} is too small: it rounds to 0 {setting.unit}"
        )
    return span


def flag(setting: Setting) -> bool:
    """A BOOL setting: true/false, 1/0, yes/no, any case; ConfigError otherwise."""
    given = raw(setting)
    if given is None:
        return bool(setting.default)
    lowered = given.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ConfigError(f"environment variable {setting.env}={given!r} must be true or false")


def choice(setting: Setting) -> str:
    """A CHOICE setting, lowercased unless its choices are upper case; ConfigError otherwise."""
    given = text(setting) or ""
    value = given.upper() if setting.choices[0].isupper() else given.lower()
    if value not in setting.choices:
        raise ConfigError(
            f"environment variable {setting.env}={value!r} must be {' or '.join(setting.choices)}"
        )
    return value
