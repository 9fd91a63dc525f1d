"""Deadline checks in one invocation (check_result.run): after its sweep, an invocation waits for
the next deadline and checks the hosts due, until its window ends. moto's S3, a real webhook
receiver on 127.0.0.1, and a fake clock whose sleep moves it (no test waits)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from check_result import handler as check_result
from check_result.handler import Config, scheduled_time
from check_result.history import decode_history
from check_result.run import Invocation
from check_result.store import Store
from check_result.webhook import WebhookError
from check_result.window import CHECK_SPACING, WAKE_AFTER, Window, window

from tests.conftest import TEST_BUCKET
from tests.helpers import HOOK, check_result_env, posts, run_at
from tests.unit.test_check_result_run import count_s3_calls, seed_host, state_of

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)
DEADLINE = T0 + 15 * MIN  # web-1's, with its last success at T0 and the module's 15 minutes


class FakeClock:
    """A clock that moves only when the run sleeps; ``at(moment, action)`` runs ``action`` when a
    sleep passes ``moment`` (what happens in the world meanwhile)."""

    def __init__(self, now: datetime) -> None:
        self.now_ = now
        self.slept: list[float] = []
        self.actions: list[tuple[datetime, Callable[[], None]]] = []

    def now(self) -> datetime:
        return self.now_

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now_ += timedelta(seconds=seconds)
        for moment, action in sorted(self.actions, key=lambda item: item[0]):
            if moment <= self.now_:
                self.actions.remove((moment, action))
                action()

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        self.actions.append((moment, action))


@pytest.fixture
def env(monkeypatch, s3, http_server):
    with check_result_env(monkeypatch, http_server):
        yield monkeypatch


def invoke(
    s3,
    started: datetime | None = None,
    *,
    sns=None,
    clock: FakeClock | None = None,
    run_id: str | None = None,
) -> tuple[dict, FakeClock]:
    """One invocation started at ``started`` (or at ``clock``'s time, a clock prepared with what
    happens in the world during the wait) on the default schedule (a minute), as the handler
    runs it, with a fake clock."""
    clock = clock or FakeClock(started)
    started = clock.now()
    summary = check_result.run(
        Config.from_env(),
        s3=s3,
        sns=sns,
        run_id=run_id or f"inv-{started:%H%M%S}",
        clock=clock.now,
        sleep=clock.sleep,
        window=window(started, started, MIN, timedelta(seconds=120)),
    )
    return summary, clock


def hosts_named(http_server) -> list[str]:
    return [line.split("`")[1] for post in posts(http_server) for line in post["text"].splitlines()[1:]]


def test_a_host_is_announced_just_after_its_deadline_not_at_the_next_sweep(
    env, s3, s3_seed, http_server
) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    assert invoke(s3, T0 + MIN)[0]["deadline_checks"] == []  # indexes its pulse; nothing due yet
    calls = count_s3_calls(s3)
    summary, clock = invoke(s3, DEADLINE - 20 * SEC)
    requests = list(calls)

    assert clock.slept == [pytest.approx(20 + WAKE_AFTER.total_seconds())]
    assert summary["outcome"] == "alerted"
    assert summary["events"] == {"down": 1, "still_down": 0, "up": 0}
    [check] = summary["deadline_checks"]
    assert check["id"] == "inv-101440:1"
    assert check["at"] == "2026-01-01T10:15:00.001000Z"
    assert check["hosts"] == 1
    [message] = posts(http_server)
    assert "*DOWN* `web-1`" in message["text"]
    assert "last successful check 2026-01-01T10:00:00Z (15m 0s ago)" in message["text"]
    assert state_of(s3)["web-1"].notified_at == DEADLINE + WAKE_AFTER
    # the sweep, with nothing to announce: three listings, the state, the index, the pauses (and
    # no write at all); the deadline check: a HEAD of the host's echo, pulse and failure, the
    # pauses; then, to announce it, the lease (PUT), a HEAD of the state (unchanged since the
    # sweep read it), the history object (PUT), the state (PUT), the lease's release (DELETE)
    sweep = [*["ListObjectsV2"] * 3, *["GetObject"] * 3]
    check = [*["HeadObject"] * 3, "GetObject", "PutObject", "HeadObject", *["PutObject"] * 2, "DeleteObject"]
    assert sorted(requests) == sorted([*sweep, *check])
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=TEST_BUCKET, Prefix="history/")["Contents"]]
    events, skipped = decode_history(s3.get_object(Bucket=TEST_BUCKET, Key=max(keys))["Body"].read())
    assert (skipped, [(event.event, event.host, event.at) for event in events]) == (
        0,
        [("down", "web-1", DEADLINE + WAKE_AFTER)],
    )  # what the deadline check announced, in its own history object

    later, _ = invoke(s3, DEADLINE + 40 * SEC)  # the next invocation: no duplicate
    assert later["outcome"] == "no_change"
    assert len(posts(http_server)) == 1


def test_a_success_before_the_deadline_moves_it_and_nothing_is_sent(env, s3, s3_seed, http_server) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    invoke(s3, T0 + MIN)
    clock = FakeClock(DEADLINE - 20 * SEC)
    clock.at(DEADLINE - 5 * SEC, lambda: seed_host(s3_seed, "web-1", echo=DEADLINE - 5 * SEC, pulse=DEADLINE))
    # started through invoke's arguments, with the world acting during the wait
    summary, _ = invoke(s3, clock=clock, run_id="inv")
    assert summary["outcome"] == "no_change"
    assert [check["events"]["down"] for check in summary["deadline_checks"]] == [0]
    assert posts(http_server) == []


def test_a_storm_is_a_few_messages_each_host_named_once(env, s3, s3_seed, http_server) -> None:
    env.setenv("ALERT_MAX_HOSTS_LISTED", "50")
    for i in range(40):  # deadlines one second apart, from the sweep's moment on
        seed_host(s3_seed, f"node-{i:02d}", echo=T0 + i * SEC, pulse=T0 + i * SEC)
    summary, _ = invoke(s3, DEADLINE)

    checks = summary["deadline_checks"]
    assert [check["at"] for check in checks] == [f"2026-01-01T10:15:{s}Z" for s in (15, 30, 45)]
    assert [check["events"]["down"] for check in checks] == [15, 15, 10]
    assert len(posts(http_server)) == 3  # one message per check, CHECK_SPACING apart
    assert sorted(hosts_named(http_server)) == [f"node-{i:02d}" for i in range(40)]
    assert summary["events_sent"] == 40
    assert len(state_of(s3)) == 40
    assert invoke(s3, DEADLINE + MIN)[0]["outcome"] == "no_change"
    assert len(posts(http_server)) == 3
    assert CHECK_SPACING == 15 * SEC


def test_a_deadline_after_the_window_waits_for_the_next_sweep(env, s3, s3_seed, http_server) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    summary, clock = invoke(s3, DEADLINE - 55 * SEC)  # the window ends 5 s before the deadline
    assert (summary["deadline_checks"], clock.slept, posts(http_server)) == ([], [], [])
    nxt, _ = invoke(s3, DEADLINE + 5 * SEC)
    assert nxt["events"]["down"] == 1
    assert nxt["deadline_checks"] == []


def test_a_new_host_that_never_succeeded_is_announced_at_its_deadline(env, s3, s3_seed, http_server) -> None:
    seed_host(s3_seed, "fresh", pulse=T0, failure=T0)
    invoke(s3, T0 + MIN)  # first seen: tracked as new
    summary, _ = invoke(s3, DEADLINE - 10 * SEC)
    [check] = summary["deadline_checks"]
    assert check["events"]["down"] == 1
    [message] = posts(http_server)
    assert "`fresh`" in message["text"]
    assert "HTTP 503" in message["text"]  # its failure record, read for the reason


def test_a_paused_host_is_announced_when_its_pause_ends(env, s3, s3_seed, http_server) -> None:
    pause_until = DEADLINE + 10 * MIN
    body = {"url": "https://db-1/health", "body": "ok", "pause_until": pause_until.isoformat()}
    seed_host(s3_seed, "db-1", echo=T0, pulse=T0, pulse_body=body)
    summary, _ = invoke(s3, pause_until - 30 * SEC)
    assert summary["suppressed"] == 1
    [check] = summary["deadline_checks"]
    assert check["at"] == "2026-01-01T10:25:00.001000Z"
    assert check["events"]["down"] == 1


def test_a_refused_alert_in_a_deadline_check_is_sent_again_by_the_next_sweep(
    env, s3, s3_seed, http_server
) -> None:
    env.setenv("WEBHOOK_MAX_ATTEMPTS", "1")
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    seed_host(s3_seed, "db-1", echo=T0 - 5 * MIN, pulse=T0 - 5 * MIN)  # already due: the sweep's
    http_server.route(HOOK, 200, "ok")
    first = {"done": False}

    def refuse_after_the_sweep() -> None:
        first["done"] = True
        http_server.route(HOOK, 503, "busy")

    clock = FakeClock(DEADLINE - 20 * SEC)
    clock.at(DEADLINE - 19 * SEC, refuse_after_the_sweep)
    with pytest.raises(WebhookError):
        invoke(s3, clock=clock, run_id="inv")
    assert first["done"]
    assert set(state_of(s3)) == {"db-1"}  # the sweep's check was saved, the refused one not
    assert "Contents" not in s3.list_objects_v2(Bucket=TEST_BUCKET, Prefix="state/lock.json")

    http_server.route(HOOK, 200, "ok")
    later, _ = invoke(s3, DEADLINE + 40 * SEC)
    assert later["events"]["down"] == 1
    texts = [post["text"] for post in posts(http_server) if "text" in post]
    assert sum("`db-1`" in text for text in texts) == 1
    assert sum("`web-1`" in text for text in texts) == 2  # refused once, then delivered: at least once


def test_each_checks_message_goes_to_sns_too(env, s3, s3_seed, http_server) -> None:
    import boto3

    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    env.setenv("ALERT_SNS_TOPIC_ARN", topic)
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)

    summary, _ = invoke(s3, DEADLINE - 20 * SEC, sns=sns)
    assert summary["delivered"] == ["webhook", "sns"]
    [check] = summary["deadline_checks"]
    assert check["delivered"] == ["webhook", "sns"]
    [received] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    alert = json.loads(received["Body"])
    assert alert["run"]["id"] == "inv-101440:1"
    assert [event["host"] for event in alert["events"]] == ["web-1"]


def test_a_check_with_nothing_to_announce_writes_nothing(env, s3, s3_seed, http_server) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    invoke(s3, T0 + MIN)  # records the threshold, indexes the pulse
    calls = count_s3_calls(s3)
    summary, _ = invoke(s3, T0 + 2 * MIN)
    assert summary["outcome"] == "no_change"
    assert sorted(calls) == sorted([*["ListObjectsV2"] * 3, *["GetObject"] * 3])  # no lease, no write


def test_a_host_another_run_announced_while_this_one_waited_is_not_announced_twice(
    env, s3, s3_seed, http_server
) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    invoke(s3, T0 + MIN)
    clock = FakeClock(DEADLINE - 20 * SEC)
    # a run that overlaps this invocation's wait (EventBridge delivered it early, or twice)
    clock.at(DEADLINE, lambda: run_at(DEADLINE + 0.5 * SEC, s3))
    summary, _ = invoke(s3, clock=clock, run_id="waiting")
    [check] = summary["deadline_checks"]
    assert check["events"]["down"] == 0  # evaluated again against the state the other run saved
    assert len(posts(http_server)) == 1
    assert state_of(s3)["web-1"].notified_at == DEADLINE + 0.5 * SEC


def test_a_deadline_check_that_finds_another_runs_lease_ends_the_invocation(
    env, s3, s3_seed, http_server
) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    invoke(s3, T0 + MIN)
    clock = FakeClock(DEADLINE - 20 * SEC)
    clock.at(DEADLINE, lambda: Store(s3, TEST_BUCKET).acquire_lease("other", DEADLINE, 5 * MIN))
    summary, _ = invoke(s3, clock=clock, run_id="waiting")
    assert (summary["outcome"], summary["deadline_checks"], posts(http_server)) == ("no_change", [], [])


def test_without_a_window_or_with_a_fixed_now_there_is_no_deadline_check(
    env, s3, s3_seed, http_server
) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    summary = check_result.run(Config.from_env(), s3=s3, now=DEADLINE - 20 * SEC, run_id="fixed")
    assert summary["deadline_checks"] == []


def test_the_webhook_retries_stop_before_the_next_scheduled_run(env, s3) -> None:
    now = T0
    work = Invocation(
        Config.from_env(),
        store=None,  # type: ignore[arg-type]
        sns=None,
        webhook_url="",
        run_id="x",
        clock=lambda: now,
        sleep=time.sleep,
        deadline=time.monotonic() + 100,
        window=Window(end=T0 + 50 * SEC, next_run=T0 + MIN),
    )
    assert work.webhook_deadline() == pytest.approx(time.monotonic() + 60, abs=1)
    work.deadline = time.monotonic() + 30
    assert work.webhook_deadline() == pytest.approx(time.monotonic() + 30, abs=1)


# --- the handler: the window from the event, S3's times parsed fast ---


def test_the_handler_counts_the_window_from_the_time_the_schedule_fired(env, s3, monkeypatch) -> None:
    seen = {}
    monkeypatch.setattr(check_result, "run", lambda config, **kwargs: seen.update(kwargs) or {})
    monkeypatch.setenv("SCHEDULE_PERIOD_SECONDS", "60")
    fired = datetime.now(timezone.utc).replace(microsecond=0) - 20 * SEC
    event = {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": fired.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    check_result.handler(event, None)
    assert seen["window"].next_run == fired + MIN
    assert scheduled_time({"time": "not a time"}) is None
    assert scheduled_time({}) is None


def test_s3_times_are_parsed_without_dateutil_and_other_times_by_botocore(env, s3, s3_seed) -> None:
    seed_host(s3_seed, "web-1", echo=T0, pulse=T0)
    client = check_result._client("s3")
    [item] = client.list_objects_v2(Bucket=TEST_BUCKET, Prefix="echo/")["Contents"]
    assert item["LastModified"] == T0
    assert item["LastModified"].tzinfo is timezone.utc
    head = client.head_object(Bucket=TEST_BUCKET, Key="echo/web-1.json")
    assert head["LastModified"] == T0
    assert head["LastModified"].tzinfo is timezone.utc
    assert check_result._parse_timestamp(1767261600) == T0  # epoch seconds (SSM, SNS): botocore's
    assert check_result._parse_timestamp("2026-01-01T10:00:00Z") == T0
