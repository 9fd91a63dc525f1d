"""The webhook client against a real HTTP server on 127.0.0.1 (urllib3 is not mocked).

Imports nothing but urllib3 and pytest besides the module, so it also runs in
the urllib3 1.26.x environment (``.venv-urllib3-1.26``).
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from check_result.webhook import WebhookError, post_json, retry_after_seconds
from pulse_echo.urls import url_host

SECRET_PATH = "/services/T000/B000/XXXXsecretXXXX"


class FakeSleep:
    """Records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_posts_json_and_returns_on_2xx(http_server, json_logs) -> None:
    url = http_server.route(SECRET_PATH, 200, "ok")
    result = post_json(url, {"text": "hello <world> é"})
    assert (result.status, result.body, result.attempts) == (200, "ok", 1)
    [request] = http_server.requests_to(SECRET_PATH)
    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json() == {"text": "hello <world> é"}
    assert [line["outcome"] for line in json_logs] == ["accepted"]
    assert json_logs[0]["webhook_host"] == f"127.0.0.1:{http_server.port}"


def test_bytes_payload_is_sent_as_is(http_server) -> None:
    url = http_server.route("/hook", 204, "")
    post_json(url, b'{"a":1}')
    assert http_server.requests_to("/hook")[0].body == b'{"a":1}'


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, "channel_not_found"),
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (410, "channel_is_archived"),
    ],
)
def test_other_4xx_is_not_retried_and_raises_with_status_and_body(
    http_server, json_logs, status, body
) -> None:
    url = http_server.route(SECRET_PATH, status, body)
    sleep = FakeSleep()
    with pytest.raises(WebhookError) as caught:
        post_json(url, {"text": "x"}, sleep=sleep)
    error = caught.value
    assert (error.status, error.body, error.attempts) == (status, body, 1)
    assert f"HTTP {status}" in str(error)
    assert body in str(error)
    assert len(http_server.requests_to(SECRET_PATH)) == 1
    assert sleep.waits == []
    [line] = json_logs
    assert (line["status"], line["body"], line["outcome"], line["level"]) == (
        status,
        body,
        "refused",
        "ERROR",
    )
    assert SECRET_PATH not in json.dumps(json_logs)
    assert SECRET_PATH not in str(error)


def test_500_is_retried_then_raises(http_server, json_logs) -> None:
    url = http_server.route(SECRET_PATH, 500, "rollup_error")
    sleep = FakeSleep()
    with pytest.raises(WebhookError) as caught:
        post_json(url, {"text": "x"}, max_attempts=3, backoff_seconds=1.0, sleep=sleep)
    assert caught.value.status == 500
    assert caught.value.attempts == 3
    assert "rollup_error" in str(caught.value)
    assert len(http_server.requests_to(SECRET_PATH)) == 3
    assert sleep.waits == [1.0, 2.0]
    assert [(line["status"], line["outcome"]) for line in json_logs] == [(500, "server_error")] * 3
    assert [line["level"] for line in json_logs] == ["WARNING", "WARNING", "ERROR"]


def test_500_then_200_is_delivered_once(http_server) -> None:
    url = http_server.route(SECRET_PATH, responses=[(500, {}, "oops"), (200, {}, "ok")])
    result = post_json(url, {"text": "x"}, sleep=FakeSleep())
    assert (result.status, result.attempts) == (200, 2)
    assert len(http_server.requests_to(SECRET_PATH)) == 2


def test_429_with_retry_after_then_200_is_delivered_once(http_server, json_logs) -> None:
    """A real wait: the second POST comes at least Retry-After (1 s) after the first."""
    url = http_server.route(
        SECRET_PATH, responses=[(429, {"Retry-After": "1"}, "rate_limited"), (200, {}, "ok")]
    )
    started = time.monotonic()
    result = post_json(url, {"text": "x"})
    assert time.monotonic() - started >= 1.0
    assert (result.status, result.attempts) == (200, 2)
    assert len(http_server.requests_to(SECRET_PATH)) == 2
    assert [line["outcome"] for line in json_logs] == ["rate_limited", "accepted"]
    assert json_logs[0]["retry_in_seconds"] == 1.0
    assert json_logs[0]["body"] == "rate_limited"


def test_retry_after_is_capped(http_server) -> None:
    url = http_server.route("/hook", responses=[(429, {"Retry-After": "3600"}, ""), (200, {}, "ok")])
    sleep = FakeSleep()
    post_json(url, {}, sleep=sleep, max_retry_after_seconds=20)
    assert sleep.waits == [20]


def test_429_every_time_raises_after_the_attempts(http_server) -> None:
    url = http_server.route("/hook", 429, "rate_limited", {"Retry-After": "2"})
    sleep = FakeSleep()
    with pytest.raises(WebhookError) as caught:
        post_json(url, {}, max_attempts=2, sleep=sleep)
    assert caught.value.status == 429
    assert sleep.waits == [2.0]


def test_redirect_is_not_followed(http_server) -> None:
    url = http_server.route("/hook", 302, "", {"Location": http_server.url("/elsewhere")})
    http_server.route("/elsewhere", 200, "ok")
    with pytest.raises(WebhookError) as caught:
        post_json(url, {}, sleep=FakeSleep())
    assert caught.value.status == 302
    assert http_server.requests_to("/elsewhere") == []


def test_connection_refused_is_retried_then_raises_without_the_url(json_logs) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}{SECRET_PATH}"
    sleep = FakeSleep()
    with pytest.raises(WebhookError) as caught:
        post_json(url, {}, max_attempts=3, backoff_seconds=0.5, sleep=sleep)
    assert caught.value.status is None
    assert caught.value.attempts == 3
    assert "no answer" in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert sleep.waits == [0.5, 1.0]
    assert SECRET_PATH not in str(caught.value)
    assert SECRET_PATH not in json.dumps(json_logs)
    assert {line["outcome"] for line in json_logs} == {"connection_error"}


def test_read_timeout_is_retried_then_raises(http_server) -> None:
    url = http_server.route("/slow", 200, "ok", delay=1.5)
    started = time.monotonic()
    with pytest.raises(WebhookError) as caught:
        post_json(url, {}, timeout_seconds=0.3, max_attempts=2, sleep=FakeSleep())
    assert caught.value.status is None
    assert "Timeout" in caught.value.body
    assert time.monotonic() - started < 1.5


def test_a_huge_error_body_is_read_only_in_part(http_server) -> None:
    url = http_server.route("/hook", 400, b"x" * 5_000_000)
    with pytest.raises(WebhookError) as caught:
        post_json(url, {}, sleep=FakeSleep())
    assert len(caught.value.body) == 500


def test_deadline_stops_retries_that_would_outlive_the_invocation(http_server, json_logs) -> None:
    url = http_server.route("/hook", 500, "busy")
    sleep = FakeSleep()
    with pytest.raises(WebhookError) as caught:
        post_json(url, {}, max_attempts=5, backoff_seconds=2.0, sleep=sleep, deadline=time.monotonic() + 1.5)
    assert caught.value.attempts == 1
    assert sleep.waits == []
    assert json_logs[-1]["outcome"] == "server_error_no_time_left"


def test_deadline_shortens_the_attempt_timeout(http_server) -> None:
    url = http_server.route("/slow", 200, "ok", delay=3)
    started = time.monotonic()
    with pytest.raises(WebhookError):
        post_json(url, {}, timeout_seconds=10, max_attempts=1, deadline=time.monotonic() + 1.0)
    assert time.monotonic() - started < 2.5


# --- hostile and broken answers ---


def answer_then_stall(status: int, seconds: float) -> Callable[[object], None]:
    """A route handler that sends the status and 2 of 100 promised body bytes, then waits."""

    def handler(request) -> None:
        request.send_response(status)
        request.send_header("Content-Length", "100")
        request.end_headers()
        request.wfile.write(b"ok")
        request.wfile.flush()
        time.sleep(seconds)
        request.close_connection = True

    return handler


def test_2xx_whose_body_never_ends_is_accepted_not_sent_again(http_server, json_logs) -> None:
    # The status is the answer: raising here would fail the run before the state is saved,
    # and the next run would post the same alert again.
    url = http_server.route("/hook", handler=answer_then_stall(200, 1.5))
    result = post_json(url, {}, timeout_seconds=0.3, sleep=FakeSleep())
    assert (result.status, result.attempts) == (200, 1)
    assert len(http_server.requests_to("/hook")) == 1
    assert [line["outcome"] for line in json_logs] == ["accepted"]


def test_5xx_whose_body_never_ends_is_retried_like_any_5xx(http_server) -> None:
    url = http_server.route("/hook", handler=answer_then_stall(503, 1.0))
    sleep = FakeSleep()
    with pytest.raises(WebhookError) as caught:
        post_json(url, {}, timeout_seconds=0.3, max_attempts=2, sleep=sleep)
    assert (caught.value.status, caught.value.attempts) == (503, 2)
    assert "body unreadable" in caught.value.body
    assert sleep.waits == [1.0]


@pytest.mark.parametrize(
    "value", ["\u00b2", "1\u00b9", "-5", "1e3", "tomorrow", "Wed, 32 Oct 2015 07:28:00 GMT"]
)
def test_retry_after_that_is_not_delay_seconds_or_a_date_is_ignored_not_a_crash(http_server, value) -> None:
    # "²".isdigit() is True and float("²") raises: a webhook must not crash the run with it.
    assert retry_after_seconds(value) is None
    url = http_server.route(
        "/hook", responses=[(429, {"Retry-After": value}, b"slow down"), (200, {}, b"ok")]
    )
    sleep = FakeSleep()
    assert post_json(url, {}, backoff_seconds=0.5, sleep=sleep).attempts == 2
    assert sleep.waits == [0.5]


def test_huge_retry_after_is_capped(http_server) -> None:
    url = http_server.route("/hook", responses=[(429, {"Retry-After": "9" * 400}, b""), (200, {}, b"ok")])
    sleep = FakeSleep()
    post_json(url, {}, sleep=sleep, max_retry_after_seconds=20)
    assert sleep.waits == [20]


def test_backoff_is_capped_whatever_the_number_of_attempts() -> None:
    with socket.socket() as sock:  # a port nobody listens on: each attempt fails at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleep = FakeSleep()
    with pytest.raises(WebhookError):
        post_json(
            f"http://127.0.0.1:{port}/hook", {}, max_attempts=1100, sleep=sleep, max_retry_after_seconds=20
        )
    assert sleep.waits[:6] == [1, 2, 4, 8, 16, 20]
    assert max(sleep.waits) == 20
    assert len(sleep.waits) == 1099


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_logged(http_server, json_logs) -> None:
    # urllib3 drops user:password@ silently; curl and browsers send it as Basic authentication.
    http_server.route("/hook", 200, "ok")
    url = f"http://hook%40us%C3%A9r:p%3Ass%20word@127.0.0.1:{http_server.port}/hook"
    post_json(url, {})
    [request] = http_server.requests_to("/hook")
    expected = base64.b64encode("hook@usér:p:ss word".encode()).decode()  # RFC 7617: UTF-8
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert "ss" not in json.dumps([line.get("webhook_host") for line in json_logs])
    assert "p%3Ass" not in json.dumps(json_logs)


def test_no_authorization_header_without_credentials(http_server) -> None:
    url = http_server.route("/hook", 200, "ok")
    post_json(url, {})
    assert "Authorization" not in http_server.requests_to("/hook")[0].headers


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert retry_after_seconds("1") == 1.0
    assert retry_after_seconds(" 30 ") == 30.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == 0.0


def test_url_host_never_includes_the_path() -> None:
    assert url_host("https://hooks.slack.com/services/T/B/secret") == "hooks.slack.com"
    assert url_host("http://127.0.0.1:8080/x?token=1") == "127.0.0.1:8080"
