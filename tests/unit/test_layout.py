"""The S3 layout (pulse_echo.layout): keys, hosts and S3's naming rules."""

from __future__ import annotations

import pytest
from pulse_echo.layout import LEASE_KEY, STATE_KEY, failure_key_problem, is_valid_bucket_name, key_for


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("pulse-echo-unit-test", True),
        ("my.bucket.example", True),
        ("abc", True),
        ("a" * 63, True),
        ("ab", False),
        ("a" * 64, False),
        ("作成したバケット", False),
        ("My-Bucket", False),
        ("my_bucket", False),
        ("-bucket", False),
        ("bucket-", False),
        ("my..bucket", False),
        ("192.168.5.4", False),
        ("xn--bucket", False),
        ("bucket-s3alias", False),
        ("bucket--ol-s3", False),
        ("", False),
    ],
)
def test_bucket_name_rules(name, valid):
    assert is_valid_bucket_name(name) is valid


def test_check_results_own_keys_are_under_state_never_under_pulse() -> None:
    assert (STATE_KEY, LEASE_KEY) == ("state/status.json", "state/lock.json")


def test_a_failure_key_over_s3s_limit_is_named_with_its_size() -> None:
    fits = "h" * (1024 - len(key_for("failure/", "")))
    assert failure_key_problem(fits) is None
    problem = failure_key_problem(fits + "é")
    assert problem == (
        "failure/<host>.json would be 1026 bytes, over S3's 1024-byte key limit (shorten the host name)"
    )
