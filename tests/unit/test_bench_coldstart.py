"""bench/coldstart.py reads ``python -X importtime`` output right."""

from __future__ import annotations

from bench import coldstart

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 | site
import time:        50 |         50 | pulse_echo
import time:       300 |        300 |     botocore.utils
import time:       200 |       1200 |   boto3
import time:       400 |        400 |     pulse_echo.common
import time:        70 |       1700 | pulse_echo.check_echo
"""


def test_importtime_lines_are_parsed_with_their_depth() -> None:
    lines = coldstart.parse_importtime(IMPORTTIME)

    assert [(line.name, line.depth) for line in lines] == [
        ("site", 0),
        ("pulse_echo", 0),
        ("botocore.utils", 2),
        ("boto3", 1),
        ("pulse_echo.common", 2),
        ("pulse_echo.check_echo", 0),
    ]


def test_the_handler_import_is_the_cumulative_time_of_the_top_level_pulse_echo_imports() -> None:
    summary = coldstart.handler_import_us(coldstart.parse_importtime(IMPORTTIME))

    assert summary["cumulative_us"] == 50 + 1700
    assert summary["ours_self_us"] == 50 + 400 + 70
    assert summary["deps_us"] == {"botocore": 300, "boto3": 200}


def test_boto3_imported_after_the_handler_is_counted_as_a_first_call_cost() -> None:
    lazy = IMPORTTIME + "import time:       900 |      90000 | boto3\n"

    assert coldstart.handler_import_us(coldstart.parse_importtime(lazy))["lazy_boto3_us"] == 90000
    assert coldstart.handler_import_us(coldstart.parse_importtime(IMPORTTIME))["lazy_boto3_us"] == 0


def test_the_functions_package_and_the_shared_one_both_count_as_the_handlers_import() -> None:
    lines = coldstart.parse_importtime(
        "import time:        50 |         50 | pulse_echo\n"
        "import time:       400 |        400 |   pulse_echo.settings\n"
        "import time:        70 |       1700 | check_echo.handler\n"
        "import time:        30 |         30 | check_result\n"
    )

    summary = coldstart.handler_import_us(lines, ("check_echo", "pulse_echo"))

    assert summary["cumulative_us"] == 50 + 1700
    assert summary["ours_self_us"] == 50 + 400 + 70
