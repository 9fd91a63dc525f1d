"""pulse-status --history and --html (pulse_echo_cli.history, uptime, html): the uptime
definitions worked by hand, the events and the uptime of a week made by check_result's own runs
(tests/history_story.py), --json, the page's text, bad input, and the examples of
docs/operations.md (``PYTHONPATH=lambda_src:. .venv/bin/python tests/unit/test_cli_history.py``
prints them). The page in a real browser: test_status_page_browser.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
from check_result.history import HistoryEvent, encode_history
from pulse_echo.times import isoformat
from pulse_echo_cli import html as page
from pulse_echo_cli import status as pulse_status
from pulse_echo_cli import uptime as up

from tests import history_story as story
from tests.conftest import TEST_BUCKET
from tests.helpers import ROOT, assert_one_line_error, check_result_env, run_at, run_main

OPERATIONS_PAGE = ROOT / "docs" / "operations.md"
EXAMPLE_BUCKET = "my-pulse-echo-bucket"
NOW = story.NOW
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


# --- the definitions, by hand ---


def test_intervals_merge_clip_and_subtract() -> None:
    a, b, c, d = (T0 + i * HOUR for i in range(4))
    assert up.union([(c, d), (a, b), (b, c), (d, d)]) == [(a, d)]
    assert up.clipped([(a, d)], b, c) == [(b, c)]
    assert up.minus([(a, d)], [(b, c)]) == [(a, b), (c, d)]
    assert up.minus([(b, c)], [(a, d)]) == []
    assert up.total([(a, c), (b, d)]) == 3 * HOUR


def test_uptime_is_time_not_down_over_time_watched_with_paused_time_left_out() -> None:
    now = T0 + 24 * HOUR
    history = up.HostHistory(
        "db-1",
        outages=((T0 + 2 * HOUR, T0 + 4 * HOUR),),  # 2 hours down...
        paused=((T0 + 3 * HOUR, T0 + 6 * HOUR),),  # ...one of them paused
    )
    day = up.uptime(history, 1, now)
    assert (day.watched, day.down, day.paused, day.outages) == (21 * HOUR, HOUR, 3 * HOUR, 1)
    assert day.ratio == pytest.approx(1 - 1 / 21)
    assert up.percent(day.ratio) == "95.23%"  # rounded down: 95.238...


def test_a_host_first_seen_inside_the_window_is_watched_from_then() -> None:
    now = T0 + 10 * 24 * HOUR
    seen = up.HostHistory("new", outages=((now - 2 * HOUR, now - HOUR),), watched_from=now - 48 * HOUR)
    week, day = up.uptime(seen, 7, now), up.uptime(seen, 1, now)
    assert (week.watched, day.watched) == (48 * HOUR, 24 * HOUR)
    assert up.percent(week.ratio) == "97.91%"
    assert up.uptime(up.HostHistory("later", watched_from=now + HOUR), 1, now).ratio is None


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [(1.0, "100%"), (0.99999, "99.99%"), (0.5, "50.00%"), (0.0, "0.00%"), (None, "-")],
)
def test_percent_never_rounds_up_to_100(ratio: float | None, shown: str) -> None:
    assert up.percent(ratio) == shown


def event(kind: str, host: str | None, at: datetime, **fields: object) -> HistoryEvent:
    return HistoryEvent(kind, host, at=at, **fields)  # type: ignore[arg-type]


def test_a_pause_runs_until_its_end_or_the_next_pause_event_of_its_host_and_source() -> None:
    h = [T0 + i * HOUR for i in range(10)]
    events = [
        event("paused", "a", h[0], since=h[0], until=h[4], source="operator"),
        event("paused", "a", h[2], since=h[2], until=h[3], source="operator"),  # shortened
        event("paused", "a", h[1], since=h[1], until=h[6], source="pulse"),  # another source
        event("resumed", "a", h[2], since=h[2], source="pulse"),
        event("paused", None, h[7], since=h[7], until=h[9], source="operator"),  # every host
        event("resumed", None, h[8], since=h[8], source="operator"),
    ]
    pauses = up.pause_intervals(events, h[9])
    assert pauses[("a", "operator")] == [(h[0], h[3])]
    assert pauses[("a", "pulse")] == [(h[1], h[2])]
    assert pauses[(None, "operator")] == [(h[7], h[8])]
    (a,) = up.host_histories(events, {}, [], h[9]).values()
    assert a.paused == ((h[0], h[3]), (h[7], h[8]))


def test_an_outage_ends_at_its_recovery_or_now_or_its_last_event() -> None:
    h = [T0 + i * HOUR for i in range(10)]
    events = up.dedupe(
        [
            event("first_seen", "a", h[0], since=h[0]),
            event("down", "a", h[2], since=h[1]),
            event("down", "a", h[2] + HOUR / 2, since=h[1]),  # written again (at least once)
            event("up", "a", h[4], since=h[1], last_ok_at=h[3]),
            event("down", "a", h[6], since=h[5]),  # still down now
            event("down", "gone", h[2], since=h[1]),  # forgotten meanwhile: no recovery recorded
            event("still_down", "gone", h[5], since=h[1]),
        ]
    )
    histories = up.host_histories(events, {"a": h[5]}, ["web"], h[9])
    assert histories["a"].outages == ((h[1], h[3]), (h[5], h[9]))
    assert (histories["a"].watched_from, histories["a"].down_now) == (h[0], True)
    assert histories["gone"].outages == ((h[1], h[5]),)
    assert histories["gone"].watched_from is None  # seen before the history began
    assert histories["web"] == up.HostHistory("web")


# --- the week of tests/history_story.py, as pulse-status shows it ---


@pytest.fixture
def week(
    monkeypatch: pytest.MonkeyPatch, s3: object, http_server: object, moto_clock: Callable
) -> Iterator[str]:
    """The story in TEST_BUCKET (check_result's runs, pulse-pause); yields what pulse-pause said."""
    with check_result_env(monkeypatch, http_server):
        yield story.tell(s3, TEST_BUCKET, moto_clock, lambda now: run_at(now, s3))


def status(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_main(pulse_status, ["--bucket", TEST_BUCKET, "--now", isoformat(NOW), *argv], capsys)


def test_history_lists_the_events_newest_first_and_the_uptime_of_every_host(
    week: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = status(["--history"], capsys)
    assert (code, err) == (0, "")
    events, table, summary = out.split("\n\n")
    lines = events.splitlines()
    assert re.split(r"  +", lines[0]) == ["AT", "HOST", "EVENT", "SINCE", "DURATION", "DETAIL"]
    cells = [re.split(r"  +", line, maxsplit=5) for line in lines[1:]]
    assert [(c[0], c[1], c[2]) for c in cells[:6]] == [
        ("2026-01-08T09:30:00Z", "db-1", "down"),
        ("2026-01-07T22:20:00Z", "web-2", "resumed"),
        ("2026-01-07T22:00:00Z", "web-2", "paused"),
        ("2026-01-07T20:00:00Z", "mail-1", "paused"),
        ("2026-01-05T03:50:00Z", "db-1", "up"),
        ("2026-01-05T03:20:00Z", "db-1", "down"),
    ]
    assert cells[0][3:] == [
        "2026-01-08T09:10:00Z",
        "20m 0s",
        "timeout: db-1.example.com:443 sent nothing for 5 s",
    ]
    assert cells[4][3:] == ["2026-01-05T03:00:00Z", "45m 0s", "succeeded again at 2026-01-05T03:45:00Z"]
    assert cells[3][5] == "paused until 2026-01-07T22:00:00Z (operator)"
    assert [c[2] for c in cells[6:]] == ["first_seen"] * 4
    rows = {line.split()[0]: re.split(r"  +", line) for line in table.splitlines()[1:]}
    # db-1: watched 6 d 1 h (from Jan 2, 09:00); down 45 min on Jan 5 and 50 min now (09:10-10:00)
    assert rows["db-1"][1:] == ["down", "96.52%", "98.90%", "98.90%", "1h 35m (2 outages)", "0s", "6d 1h"]
    assert rows["mail-1"][1:] == ["up", "100%", "100%", "100%", "0s (0 outages)", "2h 0m", "5d 23h"]
    assert rows["web-2"][5:] == ["0s (0 outages)", "20m 0s", "6d 0h"]
    assert next(iter(rows)) == "db-1"  # lowest uptime first
    assert summary.startswith(f"10 events in the last 7 days in s3://{TEST_BUCKET}, newest first")


def test_history_of_one_host_and_its_json(week: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = status(["--history", "db-1", "--days", "30", "--json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert (document["now"], document["days"]) == ("2026-01-08T10:00:00Z", 30)
    assert [e["event"] for e in document["events"]] == ["down", "up", "down", "first_seen"]
    (host,) = document["hosts"]
    assert (host["host"], host["status"], host["watched_from"], host["down_now"]) == (
        "db-1",
        "down",
        "2026-01-02T09:00:00Z",
        True,
    )
    day, week_, month = host["uptime"]
    assert day == {
        "days": 1,
        "uptime": round(1 - 50 / 1440, 6),
        "watched_seconds": 86400.0,
        "down_seconds": 3000.0,
        "paused_seconds": 0.0,
        "outages": 1,
    }
    six_days_one_hour = 6 * 86400 + 3600.0  # watched since Jan 2, 09:00
    assert (week_["down_seconds"], week_["watched_seconds"], week_["outages"]) == (
        5700.0,
        six_days_one_hour,
        2,
    )
    assert month == {**week_, "days": 30}
    assert document["history"] == {"objects": 7, "unreadable_objects": 0, "skipped_events": 0}


def test_an_unknown_host_is_one_line_with_the_closest_names(
    week: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = status(["--history", "db-2"], capsys)
    assert (code, out) == (1, "")
    assert_one_line_error("pulse-status", err, "unknown host 'db-2'", "did you mean 'db-1'")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--days", "7"], "--days goes with --history or --html"),
        (["--history", "--days", "0"], "must be from 1 to"),
        (["--history", "--days", "x"], "whole number of days"),
        (["--html", "f.html", "--json"], "--html writes the page alone"),
        (["--html", "f.html", "--history"], "--html writes the page alone"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        pulse_status.main(["--bucket", "b", *argv])
    assert exit_info.value.code == 2
    assert words in capsys.readouterr().err


def test_events_written_twice_count_once_and_unreadable_objects_are_noted(
    week: str, s3: object, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = s3.list_objects_v2(Bucket=TEST_BUCKET, Prefix="history/2026/01/05/")
    key = sorted(item["Key"] for item in listing["Contents"])[0]  # db-1's first down
    again = s3.get_object(Bucket=TEST_BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=TEST_BUCKET, Key=key.replace(".json", "-retry.json"), Body=again)
    s3.put_object(Bucket=TEST_BUCKET, Key="history/2026/01/06/000000Z-junk.json", Body=b"<html>")
    document = {"schema": 1, "events": [{"event": "down", "host": "db-1"}]}
    s3.put_object(Bucket=TEST_BUCKET, Key="history/2026/01/06/000001Z-bad.json", Body=json.dumps(document))
    code, out, err = status(["--history", "db-1", "--json"], capsys)
    assert code == 0
    assert [e["event"] for e in json.loads(out)["events"]] == ["down", "up", "down", "first_seen"]
    assert_one_line_error("pulse-status", err, "1 history objects and 1 events could not be read")


def test_history_older_than_the_windows_and_a_pause_is_not_read(
    week: str, s3: object, capsys: pytest.CaptureFixture[str]
) -> None:
    old = encode_history(
        [HistoryEvent("down", "db-1", at=NOW - 40 * 24 * HOUR, since=NOW - 41 * 24 * HOUR)],
        writer="check_result",
        run_id="old",
        written_at=NOW - 40 * 24 * HOUR,
    )
    s3.put_object(Bucket=TEST_BUCKET, Key="history/2025/11/29/100000Z-old.json", Body=old)
    _code, out, _ = status(["--history", "--json"], capsys)
    assert json.loads(out)["history"]["objects"] == 7


def test_host_names_and_reasons_are_escaped_for_the_terminal(s3: object, capsys) -> None:
    hostile = "\x1b]0;owned\x07web\x1b[2J\r\nfake line\u202e"
    events = [
        HistoryEvent("first_seen", hostile, at=NOW - HOUR, since=NOW - HOUR),
        HistoryEvent(
            "down", hostile, at=NOW, since=NOW - HOUR, reason_code="job_failed", reason_detail=hostile
        ),
    ]
    body = encode_history(events, writer="check_result", run_id="r", written_at=NOW)
    s3.put_object(Bucket=TEST_BUCKET, Key="history/2026/01/08/100000Z-r.json", Body=body)
    code, out, _ = status(["--history", "--stale-after-minutes", "15"], capsys)
    assert code == 0
    assert not any(ch in out for ch in "\x1b\x07\r\u202e")
    assert "fake line" in out
    assert "\\x1b]0;owned\\x07web" in out
    assert len(out.splitlines()) == 8  # header, 2 events, blank, header, 1 row, blank, summary
    assert out.splitlines()[-1].startswith("2 events")


# --- the page ---


HOSTILE = [
    '<script>document.title="PWNED"</script>',
    "\"'><img src=x onerror=\"document.title='PWNED'\">",
    "<!channel> </svg><svg onload=alert(1)>",
    "rack 2/cache ü \u202eevil",
]


def test_the_page_escapes_every_host_name_and_message(
    monkeypatch: pytest.MonkeyPatch, s3: object, http_server: object, s3_seed: object, capsys, tmp_path
) -> None:
    with check_result_env(monkeypatch, http_server):
        for host in HOSTILE:
            s3_seed.put(f"pulse/{host}.json", json.dumps({"result": "fail", "message": host}), NOW)
            s3_seed.put(
                f"failure/{host}.json",
                json.dumps({"reason": "job_failed", "detail": host, "message": host, "exit_code": 1}),
                NOW,
            )
        run_at(NOW, s3)
        run_at(NOW + timedelta(minutes=20), s3)
    target = tmp_path / "status.html"
    code, out, err = run_main(
        pulse_status,
        ["--bucket", TEST_BUCKET, "--now", isoformat(NOW + timedelta(minutes=21)), "--html", str(target)],
        capsys,
    )
    assert (code, err) == (0, "")
    assert out == f"Wrote {target}: 4 hosts, 8 events in 7 days.\n"
    text = target.read_text(encoding="utf-8")
    for tag in ("<script", "<img", "<svg onload", "<!channel"):
        assert tag not in text
    assert "&lt;script&gt;document.title=&quot;PWNED&quot;&lt;/script&gt;" in text
    assert "&lt;/svg&gt;&lt;svg onload=alert(1)&gt;" in text
    assert "\u202e" not in text
    assert "\\u202eevil" in text
    assert text.count("<svg ") == 4  # one bar per host, all of them ours


def test_the_page_is_self_contained_and_allows_only_its_own_style(week: str, tmp_path, capsys) -> None:
    code, out, _ = status(["--html", "-", "--days", "3"], capsys)
    assert code == 0
    assert out.startswith("<!doctype html>")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', out).group(1)
    assert csp.startswith("default-src 'none'; style-src 'sha256-")
    assert page.STYLE_HASH in csp
    assert f"<style>{page.STYLE}</style>" in out
    for fetch in ("src=", "href=", "url(", "@import", "<link", "<script", "<iframe", "<object"):
        assert fetch not in out
    assert re.search(r'<meta name="viewport" content="width=device-width, initial-scale=1">', out)
    assert "<h2>Last 3 days</h2>" in out


# --- docs/operations.md ---


def documented_examples(
    s3: object, clock: Callable[[datetime], None], run: Callable[[datetime], object]
) -> dict[str, str]:
    """The story in EXAMPLE_BUCKET: {block name: exact text, command line included}."""
    s3.create_bucket(Bucket=EXAMPLE_BUCKET)
    said = story.tell(s3, EXAMPLE_BUCKET, clock, run)

    def show(argv: list[str]) -> str:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = pulse_status.main(["--bucket", EXAMPLE_BUCKET, *argv, "--now", isoformat(NOW)])
        assert (code, err.getvalue()) == (0, ""), err.getvalue()
        return f"$ pulse-status --bucket {EXAMPLE_BUCKET} {' '.join(argv)}\n{out.getvalue()}"

    pause = " ".join(story.PAUSE_ARGV)
    document = json.loads(show(["--history", "db-1", "--json"]).split("\n", 1)[1])
    document["events"] = [*document["events"][:1], "…"]
    shown = json.dumps(document, ensure_ascii=False, indent=2).replace('"…"', "…")
    return {
        "history-pause": f"$ pulse-pause --bucket {EXAMPLE_BUCKET} {pause}  # on Jan 7 at 20:00\n{said}",
        "history": show(["--history"]),
        "history-json": f"$ pulse-status --bucket {EXAMPLE_BUCKET} --history db-1 --json\n{shown}\n",
    }


def test_documented_examples_are_the_real_output(
    monkeypatch: pytest.MonkeyPatch, s3: object, http_server: object, moto_clock: Callable
) -> None:
    with check_result_env(monkeypatch, http_server):
        monkeypatch.setenv("PULSE_ECHO_BUCKET", EXAMPLE_BUCKET)
        blocks = documented_examples(s3, moto_clock, lambda now: run_at(now, s3))
    text = OPERATIONS_PAGE.read_text(encoding="utf-8")
    for name, block in blocks.items():
        assert f"```console\n{block}```" in text, f"docs/operations.md example {name!r} differs:\n{block}"


def print_documented_examples() -> None:
    """Print the examples of docs/operations.md, to paste them (see the module docstring)."""
    import boto3
    import moto.s3.models
    from check_result import handler
    from moto import mock_aws

    from tools.httpserver import start_http_server

    current = {"now": NOW}
    moto.s3.models.utcnow = lambda: current["now"].replace(tzinfo=None)
    server, stop = start_http_server()
    server.route("/hook", 200, "ok")
    os.environ.update(
        AWS_ACCESS_KEY_ID="k",
        AWS_SECRET_ACCESS_KEY="s",
        AWS_DEFAULT_REGION="us-east-1",
        PULSE_ECHO_BUCKET=EXAMPLE_BUCKET,
        ALERT_WEBHOOK_URL=server.url("/hook"),
        LOG_LEVEL="ERROR",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            config = handler.Config.from_env()

            def run(now: datetime) -> None:
                handler.run(config, s3=s3, now=now, run_id=f"run-{now:%H%M%S}")

            for name, text in documented_examples(s3, lambda m: current.update(now=m), run).items():
                print(f"<!-- {name} -->\n```console\n{text}```\n")
    finally:
        stop()


if __name__ == "__main__":
    print_documented_examples()
