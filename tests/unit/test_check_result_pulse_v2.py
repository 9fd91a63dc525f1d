"""check_result with pulse v2, in one process against moto and a real webhook receiver: the pulse
index, each host's own threshold, a job's own failure and recovery, pauses (the pulse's and the
operator's), and job output that must arrive clipped and harmless.

The records are written as check_echo writes them (pulse_echo.records), back-dated with
``s3_seed``; check_result runs at a fixed ``now`` (tests.helpers.run_at).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from check_result.pauses import Pauses
from check_result.store import Store
from pulse_echo.layout import PAUSES_KEY, PULSE_INDEX_KEY
from pulse_echo.records import echo_record, encode_record, failure_record

from tests.conftest import TEST_BUCKET
from tests.helpers import check_result_env, posts, run_at

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
HOUR = 60 * MIN
JOB = {"result": "ok", "exit_code": 0, "duration_seconds": 61.0, "stale_after_minutes": 1500}


@pytest.fixture
def env(monkeypatch, s3, http_server):
    with check_result_env(monkeypatch, http_server):
        yield monkeypatch


def put_pulse(s3_seed, host: str, when: datetime, **fields: object) -> None:
    s3_seed.put(f"pulse/{host}.json", json.dumps(fields), last_modified=when)


def put_echo(s3_seed, host: str, when: datetime, kind: str = "probe", **job: object) -> None:
    url = f"https://{host}/health" if kind == "probe" else None
    record = echo_record(when, url, 200 if url else None, 5 if url else None, kind=kind, **job)
    s3_seed.put(f"echo/{host}.json", encode_record(record), last_modified=when)


def put_job_failure(s3_seed, host: str, when: datetime, message: str, exit_code: int = 2, **extra) -> None:
    record = failure_record(
        when, "job_failed", message, kind="job", message=message, exit_code=exit_code, duration_seconds=754.2
    )
    record.update(extra)
    s3_seed.put(f"failure/{host}.json", encode_record(record), last_modified=when)


def text_of(http_server) -> str:
    [message] = posts(http_server)
    return message["text"]


def line_of(text: str, host: str) -> str:
    return next(line for line in text.splitlines() if f"`{host}`" in line)


# --- each host's threshold, read once per change ---


def test_a_nightly_job_is_judged_by_its_own_threshold_and_its_pulse_read_once(env, s3, s3_seed, http_server):
    put_pulse(s3_seed, "backup", T0, **JOB)
    put_echo(s3_seed, "backup", T0, kind="job", exit_code=0, duration_seconds=61.0, message=None)
    put_pulse(s3_seed, "web", T0, url="https://web/health", body="ok")
    put_echo(s3_seed, "web", T0)

    first = run_at(T0 + 20 * MIN, s3)
    assert first["pulses_read"] == 2
    assert line_of(text_of(http_server), "web").startswith(":red_circle: *DOWN*")
    assert "`backup`" not in text_of(http_server)  # 20 minutes is nothing for a nightly job
    assert run_at(T0 + 24 * HOUR, s3)["pulses_read"] == 0  # unchanged: not read again
    assert run_at(T0 + 25 * HOUR + MIN, s3)["events"]["down"] == 1
    assert "`backup`" in posts(http_server)[1]["text"]


def test_an_invalid_pulse_is_indexed_as_invalid_with_the_modules_threshold(env, s3, s3_seed, http_server):
    put_pulse(s3_seed, "bad", T0, body="ok", stale_after_minutes=1500)  # body without url: bad_pulse
    put_echo(s3_seed, "bad", T0)
    assert run_at(T0 + 16 * MIN, s3)["events"]["down"] == 1
    index = Store(s3, TEST_BUCKET).read_pulse_index().value
    assert index["bad"].kind == "invalid"


def test_reads_are_capped_per_run_hosts_that_would_be_due_first(env, s3, s3_seed, http_server, json_logs):
    env.setenv("PULSE_READS_PER_RUN", "2")
    for host in ("a-up", "b-up", "c-up"):
        put_pulse(s3_seed, host, T0, **JOB)
        put_echo(s3_seed, host, T0 + 10 * MIN)
    for host in ("y-stale", "z-stale"):
        put_pulse(s3_seed, host, T0, **JOB)
        put_echo(s3_seed, host, T0)
    first = run_at(T0 + 16 * MIN, s3)
    assert (first["pulses_read"], first["pulses_unread"]) == (2, 3)
    assert first["events"]["down"] == 0  # the two that looked stale were read first: nightly jobs
    assert set(Store(s3, TEST_BUCKET).read_pulse_index().value) == {"y-stale", "z-stale"}
    second = run_at(T0 + 17 * MIN, s3)
    assert (second["pulses_read"], second["pulses_unread"]) == (2, 1)
    assert run_at(T0 + 18 * MIN, s3)["pulses_unread"] == 0


def test_a_host_whose_pulse_is_not_read_yet_is_not_alerted_on_the_modules_threshold(
    env, s3, s3_seed, http_server
):
    """An upgrade (or a lost index) with more changed pulses than a run reads: the nightly jobs
    not read yet are held, not called down for a 15-minute silence; once read, they are judged
    by their own threshold, and a host that is really down is alerted one run later."""
    env.setenv("PULSE_READS_PER_RUN", "1")
    for host in ("job-a", "job-b"):
        put_pulse(s3_seed, host, T0 - 20 * HOUR, **JOB)
        put_echo(s3_seed, host, T0 - 20 * HOUR, kind="job")
    put_pulse(s3_seed, "web", T0 - HOUR, url="https://web/health")
    put_echo(s3_seed, "web", T0 - HOUR)
    runs = [run_at(T0 + minutes * MIN, s3) for minutes in (0, 10, 20)]
    assert [summary["pulses_read"] for summary in runs] == [1, 1, 1]
    assert [summary["events"]["down"] for summary in runs] == [0, 0, 1]
    assert [summary["suppressed"] for summary in runs] == [2, 1, 0]
    [message] = posts(http_server)
    assert "`web`" in message["text"]
    assert "job-" not in message["text"]


@pytest.mark.parametrize("damage", ["delete", "garbage"])
def test_a_lost_or_unreadable_index_costs_only_re_reads(env, s3, s3_seed, http_server, json_logs, damage):
    put_pulse(s3_seed, "backup", T0, **JOB)
    put_echo(s3_seed, "backup", T0, kind="job")
    run_at(T0 + 5 * MIN, s3)
    if damage == "delete":
        s3.delete_object(Bucket=TEST_BUCKET, Key=PULSE_INDEX_KEY)
    else:
        s3.put_object(Bucket=TEST_BUCKET, Key=PULSE_INDEX_KEY, Body=b"{truncated")
    summary = run_at(T0 + 20 * MIN, s3)
    assert (summary["pulses_read"], summary["index_saved"], summary["events"]["down"]) == (1, True, 0)
    assert (damage == "garbage") == any(line.get("outcome") == "pulse_index_reset" for line in json_logs)
    assert Store(s3, TEST_BUCKET).read_pulse_index().value["backup"].kind == "job"


def test_a_failed_index_write_is_logged_and_the_run_goes_on(env, s3, s3_seed, http_server, json_logs):
    put_pulse(s3_seed, "web", T0, url="https://web/health")
    put_echo(s3_seed, "web", T0)

    def refuse(params, **_):
        if params.get("Key") == PULSE_INDEX_KEY:
            raise RuntimeError("S3 is having a bad day")

    s3.meta.events.register("before-parameter-build.s3.PutObject", refuse)
    summary = run_at(T0 + 20 * MIN, s3)
    assert (summary["outcome"], summary["index_saved"]) == ("alerted", False)
    assert any(line.get("outcome") == "index_not_saved" for line in json_logs)


# --- a job's own failure and recovery ---


def test_a_job_failure_is_alerted_at_the_next_run_with_its_message_exit_code_and_duration(
    env, s3, s3_seed, http_server
):
    put_pulse(s3_seed, "backup", T0, **JOB)
    put_echo(s3_seed, "backup", T0, kind="job")
    run_at(T0 + 5 * MIN, s3)
    failed_at = T0 + 24 * HOUR
    put_pulse(
        s3_seed, "backup", failed_at, **{**JOB, "result": "fail", "exit_code": 2, "message": "disk full"}
    )
    put_job_failure(s3_seed, "backup", failed_at + timedelta(seconds=1), "rsync: write failed\ndisk full\n")

    summary = run_at(failed_at + 5 * MIN, s3)
    assert summary["events"]["down"] == 1
    line = line_of(text_of(http_server), "backup")
    assert "last successful check 2026-01-01T10:00:00Z (1d 0h ago)" in line
    assert (
        "Why: the job reported a failure (exit code 2, ran 12m 34s): rsync: write failed\\ndisk full" in line
    )
    env.setenv("ALERT_WEBHOOK_FORMAT", "json")


def test_the_json_alert_carries_the_jobs_exit_code_duration_and_kind(env, s3, s3_seed, http_server):
    env.setenv("ALERT_WEBHOOK_FORMAT", "json")
    put_pulse(s3_seed, "backup", T0, **{**JOB, "result": "fail", "exit_code": 3, "message": "no space"})
    put_echo(s3_seed, "backup", T0 - HOUR, kind="job")
    put_job_failure(s3_seed, "backup", T0, "no space", exit_code=3)
    run_at(T0 + 5 * MIN, s3)
    [document] = posts(http_server)
    [event] = document["events"]
    assert (event["kind"], event["reason"]["code"]) == ("job", "job_failed")
    assert (event["reason"]["exit_code"], event["reason"]["duration_seconds"]) == (3, 754.2)


def test_a_recovered_job_says_so(env, s3, s3_seed, http_server):
    put_pulse(s3_seed, "backup", T0, **{**JOB, "result": "fail", "message": "disk full"})
    put_echo(s3_seed, "backup", T0 - 24 * HOUR, kind="job")
    put_job_failure(s3_seed, "backup", T0, "disk full")
    run_at(T0 + 5 * MIN, s3)
    later = T0 + 24 * HOUR
    put_pulse(s3_seed, "backup", later, **{**JOB, "message": "backup done: 12 GB"})
    put_echo(
        s3_seed, "backup", later, kind="job", exit_code=0, duration_seconds=61.0, message="backup done: 12 GB"
    )

    assert run_at(later + 5 * MIN, s3)["events"]["up"] == 1
    line = line_of(posts(http_server)[1]["text"], "backup")
    assert line.startswith(":large_green_circle: *UP* `backup`: recovered: the job reported success at ")
    assert "(exit code 0, ran 1m 1s); down for 2d 0h" in line  # no success since the one before the failure
    assert line.endswith("It said: backup done: 12 GB")


def test_a_recovered_probe_is_worded_as_before_and_its_echo_not_read(env, s3, s3_seed, http_server):
    put_pulse(s3_seed, "web", T0, url="https://web/health")
    put_echo(s3_seed, "web", T0)
    run_at(T0 + 20 * MIN, s3)
    put_echo(s3_seed, "web", T0 + 25 * MIN)
    calls: list[str] = []
    s3.meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **_: calls.append(params["Key"])
    )
    run_at(T0 + 30 * MIN, s3)
    assert "recovered: check OK at 2026-01-01T10:25:00Z" in posts(http_server)[1]["text"]
    assert "echo/web.json" not in calls


# --- pauses ---


def test_a_pulse_pause_holds_back_the_alert_and_counts_the_host_as_paused(env, s3, s3_seed, http_server):
    put_pulse(s3_seed, "db", T0, url="https://db/health", pause_until="2026-01-01T12:00:00Z")
    put_echo(s3_seed, "db", T0)
    put_pulse(s3_seed, "web", T0, url="https://web/health")
    put_echo(s3_seed, "web", T0)

    summary = run_at(T0 + 20 * MIN, s3)
    assert summary["statuses"] == {"up": 0, "down": 1, "new": 0, "paused": 1}
    assert summary["suppressed"] == 1
    text = text_of(http_server)
    assert "watching 2 hosts: 0 up, 1 down, 0 new, 1 paused" in text
    assert "`db`" not in text

    assert run_at(T0 + 110 * MIN, s3)["events"]["down"] == 0
    after = run_at(T0 + 120 * MIN, s3)  # the pause ends at 12:00 exactly
    assert after["events"]["down"] == 1
    assert line_of(posts(http_server)[1]["text"], "db").startswith(":red_circle: *DOWN* `db`")
    assert run_at(T0 + 130 * MIN, s3)["outcome"] == "no_change"


def test_an_operator_pause_holds_back_the_alert_until_it_ends(env, s3, s3_seed, http_server):
    put_pulse(s3_seed, "db", T0, url="https://db/health")
    put_echo(s3_seed, "db", T0)
    store = Store(s3, TEST_BUCKET)
    store.write_pauses(Pauses().paused(["db"], T0 + HOUR, T0), etag=None, now=T0)

    summary = run_at(T0 + 20 * MIN, s3)
    assert (summary["outcome"], summary["statuses"]["paused"]) == ("state_saved", 1)
    assert posts(http_server) == []
    assert run_at(T0 + HOUR + MIN, s3)["events"]["down"] == 1


def test_a_pause_of_every_host_covers_hosts_that_appear_during_it(env, s3, s3_seed, http_server):
    Store(s3, TEST_BUCKET).write_pauses(Pauses().paused(None, T0 + HOUR, T0), etag=None, now=T0)
    put_pulse(s3_seed, "later", T0 + 10 * MIN, url="https://later/health")
    put_echo(s3_seed, "later", T0 + 10 * MIN)
    assert run_at(T0 + 30 * MIN, s3)["statuses"]["paused"] == 1
    assert posts(http_server) == []


def test_unreadable_pauses_pause_nothing(env, s3, s3_seed, http_server, json_logs):
    s3.put_object(Bucket=TEST_BUCKET, Key=PAUSES_KEY, Body=b'{"schema": 1, "hosts": {"db": {"until": 5}}}')
    put_pulse(s3_seed, "db", T0, url="https://db/health")
    put_echo(s3_seed, "db", T0)
    assert run_at(T0 + 20 * MIN, s3)["events"]["down"] == 1
    assert any(line.get("outcome") == "pauses_unreadable" for line in json_logs)


def test_the_first_run_dates_a_never_successful_host_from_its_failure_record(env, s3, s3_seed, http_server):
    put_pulse(s3_seed, "batch", T0 + 40 * MIN, url="https://batch/health")
    record = failure_record(T0 + 40 * MIN, "timeout", "read timed out", failing_since=T0, kind="probe")
    s3_seed.put("failure/batch.json", encode_record(record), last_modified=T0 + 40 * MIN)
    summary = run_at(T0 + 41 * MIN, s3)  # failing for 41 minutes, though its listings are a minute old
    assert summary["events"]["down"] == 1
    assert "first seen 2026-01-01T10:00:00Z, 41m 0s ago" in text_of(http_server)


# --- job output is untrusted ---


@pytest.mark.parametrize(
    ("message", "absent", "present"),
    [
        ("<!channel> <@U123> <https://evil.example|click> & done", "<", "&lt;!channel&gt; &lt;@U123&gt;"),
        ("line 1\r\nline 2\x1b[31mred\x00\u202e", "\x1b", "line 1\\r\\nline 2\\x1b[31mred\\x00\\u202e"),
        ("x" * 1_000_000 + " disk full", "x" * 300, "xxx…"),  # check_echo keeps 1,000 characters
    ],
    ids=["mentions", "control-characters", "a-megabyte"],
)
def test_job_output_arrives_clipped_and_harmless(env, s3, s3_seed, http_server, message, absent, present):
    put_pulse(s3_seed, "backup", T0, **{**JOB, "result": "fail"})
    put_echo(s3_seed, "backup", T0 - HOUR, kind="job")
    put_job_failure(s3_seed, "backup", T0, message)
    run_at(T0 + 5 * MIN, s3)
    text = text_of(http_server)
    assert len(text.splitlines()) == 2
    assert absent not in text
    assert present in text
    assert len(line_of(text, "backup")) < 600


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (b'{"reason": "job_failed", "detail": "caf\xe9 \xff\xfe broken"}', "caf\ufffd \ufffd\ufffd broken"),
        (b'{"reason": "job_failed", "detail": "\\ud800 lone surrogate"}', "\ufffd lone surrogate"),
        (b'{"reason": "job_failed", "detail": "' + b"y" * 70_000 + b'"}', "unreadable_failure_record"),
    ],
    ids=["invalid-utf8", "lone-surrogate", "over-64-KiB"],
)
def test_a_failure_record_not_written_by_check_echo_still_gives_a_sendable_alert(
    env, s3, s3_seed, http_server, data, shown
):
    put_pulse(s3_seed, "backup", T0, **{**JOB, "result": "fail"})
    put_echo(s3_seed, "backup", T0 - HOUR, kind="job")
    s3_seed.put("failure/backup.json", data, last_modified=T0)
    run_at(T0 + 5 * MIN, s3)
    assert shown in text_of(http_server)


def test_an_s3_error_reading_a_changed_pulse_fails_the_run_and_saves_nothing(env, s3, s3_seed, http_server):
    from botocore.exceptions import ClientError

    for host in ("a", "b", "c"):
        put_pulse(s3_seed, host, T0, url=f"https://{host}/health")
        put_echo(s3_seed, host, T0)

    def refuse(params, **_):
        if params.get("Key") == "pulse/b.json":
            raise ClientError(
                {"Error": {"Code": "SlowDown", "Message": "Reduce your request rate"}}, "GetObject"
            )

    s3.meta.events.register("before-parameter-build.s3.GetObject", refuse)
    with pytest.raises(ClientError, match="SlowDown"):
        run_at(T0 + 20 * MIN, s3)
    assert posts(http_server) == []
    assert Store(s3, TEST_BUCKET).read_pulse_index().etag is None
    keys = {
        item["Key"] for item in s3.list_objects_v2(Bucket=TEST_BUCKET, Prefix="state/").get("Contents", [])
    }
    assert keys == set()  # no state, no index, and the lease released
