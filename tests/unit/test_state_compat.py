"""``state/status.json`` across versions: a document written by pulse-echo 0.1.0 is read by this
version with nothing lost, and 0.1.0 reads what this version writes (schema 1, additive only).

``tests/compat/state-v0.1.0.json`` was written by 0.1.0's own encoder (V010_WRITER below, run on
``git archive v0.1.0``); the tests that need 0.1.0's code run it in a subprocess from the tag
(``PYTHONPATH`` = that tree), and say so when the tag is not in the clone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from check_result.history import HistoryEvent
from check_result.state import HostState, PendingSns, StateDocument, decode_state_document, encode_state
from check_result.store import Store
from pulse_echo.layout import STATE_KEY

from tests.conftest import TEST_BUCKET
from tests.helpers import ROOT, check_result_env, posts, run_at

FIXTURE = Path(__file__).resolve().parents[1] / "compat" / "state-v0.1.0.json"
T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)

V010_WRITER = """
import sys
from datetime import datetime, timedelta, timezone
from pulse_echo.status import HostState, PendingSns, encode_state
T0 = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
M = timedelta(minutes=1)
hosts = {
    "db-1": HostState("down", since=T0 - 50 * M, last_ok_at=T0 - 50 * M,
                      notified_at=T0 - 30 * M + timedelta(microseconds=250000)),
    "rack 2/cache \\u00fc": HostState("down", since=T0 - 120 * M, last_ok_at=None, notified_at=T0 - 60 * M),
    "new-host": HostState("new", since=T0 - 35 * M),
}
message = '{"schema":"pulse-echo.alert/1","summary":"pulse-echo: 1 down"}'
pending = [PendingSns("run-0930", T0 - 30 * M, message, "pulse-echo b: 1 down")]
sys.stdout.buffer.write(encode_state(hosts, updated_at=T0 - 30 * M, run_id="run-0930", pending_sns=pending))
"""

V010_READER = """
import json, sys
from pulse_echo.status import decode_state_document
document = decode_state_document(sys.stdin.buffer.read())
print(json.dumps({
    "hosts": {host: [e.status, e.since.isoformat(), e.last_ok_at and e.last_ok_at.isoformat(),
                     e.notified_at and e.notified_at.isoformat()] for host, e in document.hosts.items()},
    "pending_sns": [[p.run_id, p.created_at.isoformat(), p.message, p.subject] for p in document.pending_sns],
}))
"""

WRITTEN_BY_V010 = StateDocument(
    hosts={
        "db-1": HostState(
            "down",
            since=T0 - 50 * MIN,
            last_ok_at=T0 - 50 * MIN,
            notified_at=T0 - 30 * MIN + timedelta(microseconds=250000),
        ),
        "rack 2/cache ü": HostState("down", since=T0 - 120 * MIN, last_ok_at=None, notified_at=T0 - 60 * MIN),
        "new-host": HostState("new", since=T0 - 35 * MIN),
    },
    pending_sns=(
        PendingSns(
            "run-0930",
            T0 - 30 * MIN,
            '{"schema":"pulse-echo.alert/1","summary":"pulse-echo: 1 down"}',
            "pulse-echo b: 1 down",
        ),
    ),
)


@pytest.fixture(scope="module")
def v010(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pulse-echo 0.1.0's ``lambda_src`` (git archive of the tag), for a subprocess's PYTHONPATH."""
    target = tmp_path_factory.mktemp("v0.1.0")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "v0.1.0", "lambda_src"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        pytest.skip(
            f"the tag v0.1.0 is not in this clone (git fetch --tags): {archive.stderr.decode()[:200]}"
        )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "lambda_src"


def run_v010(tree: Path, script: str, data: bytes = b"") -> bytes:
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tree)!r})\n{script}"],
        input=data,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_the_fixture_is_what_v010_writes(v010: Path) -> None:
    assert run_v010(v010, V010_WRITER) == FIXTURE.read_bytes()


def test_a_document_written_by_v010_is_read_with_nothing_lost() -> None:
    document = decode_state_document(FIXTURE.read_bytes())
    assert document == WRITTEN_BY_V010  # stale_after_minutes: None, not recorded by 0.1.0


def test_a_run_over_a_v010_document_keeps_every_host_and_pending_message(
    monkeypatch: pytest.MonkeyPatch, s3: object, s3_seed: object, http_server: object
) -> None:
    """The hosts 0.1.0 announced down stay announced (no second alert), the new host keeps its
    first-seen time, the SNS message 0.1.0 could not publish is still pending (no topic now:
    dropped only by the documented rule, logged), and the threshold is added."""
    s3.put_object(Bucket=TEST_BUCKET, Key=STATE_KEY, Body=FIXTURE.read_bytes())
    for host in ("db-1", "rack 2/cache ü", "new-host"):
        s3_seed.put(f"pulse/{host}.json", json.dumps({"url": "https://x.example/"}), T0 - 5 * MIN)
    s3_seed.put("echo/db-1.json", b"{}", T0 - 50 * MIN)
    s3_seed.put("failure/new-host.json", b'{"reason": "timeout"}', T0 - 5 * MIN)
    with check_result_env(monkeypatch, http_server):
        monkeypatch.setenv("ALERT_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts")

        class RefusingSns:
            def publish(self, **_: object) -> dict:
                raise RuntimeError("SNS is down")

        with pytest.raises(RuntimeError, match="SNS is down"):
            run_at(T0 + 10 * MIN, s3, sns=RefusingSns())  # new-host: 45 minutes new: one alert
        assert [line.split("`")[1] for line in posts(http_server)[0]["text"].splitlines()[1:]] == ["new-host"]

    after = Store(s3, TEST_BUCKET).read_state()
    assert after.stale_after_minutes == 15
    assert after.hosts["db-1"] == WRITTEN_BY_V010.hosts["db-1"]
    assert after.hosts["rack 2/cache ü"] == WRITTEN_BY_V010.hosts["rack 2/cache ü"]
    assert after.hosts["new-host"].status == "down"
    assert after.hosts["new-host"].since == T0 - 35 * MIN  # first seen, as 0.1.0 recorded it
    assert after.pending_sns[0] == WRITTEN_BY_V010.pending_sns[0]
    assert len(after.pending_sns) == 2  # and this run's own alert


def test_v010_reads_what_this_version_writes(v010: Path) -> None:
    data = encode_state(
        WRITTEN_BY_V010.hosts,
        updated_at=T0,
        run_id="run-1000",
        pending_sns=WRITTEN_BY_V010.pending_sns,
        stale_after_minutes=1500,
        pending_history=[HistoryEvent("down", "db-1", at=T0, since=T0 - 50 * MIN)],
    )
    assert json.loads(data)["stale_after_minutes"] == 1500
    assert len(json.loads(data)["pending_history"]) == 1
    seen = json.loads(run_v010(v010, V010_READER, data))
    ours = decode_state_document(data)
    assert seen == {
        "hosts": {
            host: [
                entry.status,
                entry.since.isoformat(),
                entry.last_ok_at and entry.last_ok_at.isoformat(),
                entry.notified_at and entry.notified_at.isoformat(),
            ]
            for host, entry in ours.hosts.items()
        },
        "pending_sns": [[p.run_id, p.created_at.isoformat(), p.message, p.subject] for p in ours.pending_sns],
    }
    assert len(seen["hosts"]) == 3
