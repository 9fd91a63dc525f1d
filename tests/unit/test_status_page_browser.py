"""The status page (pulse-status --html) in a real browser: headless Chromium, Debian's package.

``make unit`` and ``make test`` install it first when they can (``make chromium``: root and
apt-get); this module finds it (``$CHROMIUM``, else ``chromium`` on PATH) and skips, loudly,
where there is none. What a person would see is checked in the rendered page: the host names,
statuses and uptimes in its text (``innerText``, what is laid out, read by a small harness page
that holds the status page in an iframe, at a phone's width and a desktop's), no horizontal
scrolling on the phone, and screenshots that are not blank. Hostile host names and job messages
(``<script>``, quotes, ``<!channel>``, ``<img onerror>``, ``</svg>``) must stay text and run
nothing, with the page's Content-Security-Policy and without it (the escaping alone).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pulse_echo.times import isoformat
from pulse_echo_cli import status as pulse_status

from tests import history_story as story
from tests.conftest import TEST_BUCKET
from tests.helpers import check_result_env, run_at, run_main

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]
SENTINEL = "parent.document.body.dataset.pwned='yes'"
HOSTILE_HOSTS = [
    f"<script>{SENTINEL}</script>",
    f'"\'><img src=x onerror="{SENTINEL}">',
    '<!channel> </svg><svg onload="' + SENTINEL + '">',
]
HOSTILE_MESSAGE = f'</li></ol><script>{SENTINEL}</script><img src=x onerror="{SENTINEL}"> it\'s "done"'
PHONE, DESKTOP = (390, 844), (1280, 900)


def chromium() -> str:
    """The browser's path; skips the test, loudly, when there is none."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip(
            "NO BROWSER: headless Chromium is not installed, the status page was NOT checked in a "
            "browser. Run `make chromium` (root, Debian: apt-get install chromium) or set $CHROMIUM."
        )
    return found


def browse(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run on ``url`` with a fresh profile (bounded: 120 s)."""
    result = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


HARNESS = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<iframe id="page" width="{width}" height="{height}" srcdoc="{page}"></iframe>
<pre id="seen"></pre>
<script>
document.getElementById("page").addEventListener("load", () => {{
  const doc = document.getElementById("page").contentDocument;
  document.getElementById("seen").textContent = JSON.stringify({{
    text: doc.body.innerText,
    title: doc.title,
    scripts: doc.querySelectorAll("script").length,
    images: doc.querySelectorAll("img").length,
    handlers: [...doc.querySelectorAll("*")]
      .filter(e => [...e.attributes].some(a => a.name.startsWith("on"))).length,
    svgs: doc.querySelectorAll("svg").length,
    rects: doc.querySelectorAll("svg rect.t-down").length,
    scrollWidth: doc.documentElement.scrollWidth,
    clientWidth: doc.documentElement.clientWidth,
    fontSize: parseFloat(getComputedStyle(doc.body).fontSize),
    pwned: document.body.dataset.pwned || null,
  }});
}});
</script></body></html>"""


def seen_in_browser(page: str, size: tuple[int, int], tmp_path: Path, name: str) -> dict:
    """What the page shows at ``size`` (width, height), read from the harness's DOM."""
    harness = tmp_path / f"{name}.html"
    harness.write_text(
        HARNESS.format(width=size[0], height=size[1], page=html.escape(page, quote=True)), encoding="utf-8"
    )
    dom = browse(harness.as_uri(), tmp_path / f"profile-{name}", "--virtual-time-budget=10000", "--dump-dom")
    match = re.search(r'<pre id="seen">(.*?)</pre>', dom.stdout, re.S)
    assert match is not None, dom.stdout[-2000:]
    return json.loads(html.unescape(match.group(1)))


def screenshot(path: Path, size: tuple[int, int], tmp_path: Path) -> Image.Image:
    shot = tmp_path / f"{path.stem}-{size[0]}.png"
    browse(
        path.as_uri(),
        tmp_path / f"profile-shot-{size[0]}",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={shot}",
    )
    return Image.open(shot).convert("RGB")


def write_page(argv_now: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    target = tmp_path / "status.html"
    code, _, err = run_main(
        pulse_status, ["--bucket", TEST_BUCKET, "--now", argv_now, "--html", str(target)], capsys
    )
    assert (code, err) == (0, "")
    return target


@pytest.fixture
def week_page(
    monkeypatch: pytest.MonkeyPatch,
    s3: object,
    http_server: object,
    moto_clock: Callable,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    """The page of tests/history_story.py's week, written by pulse-status --html."""
    chromium()
    with check_result_env(monkeypatch, http_server):
        story.tell(s3, TEST_BUCKET, moto_clock, lambda now: run_at(now, s3))
    return write_page(isoformat(story.NOW), tmp_path, capsys)


def test_a_person_sees_every_host_its_status_and_uptime_on_a_phone_and_a_desktop(
    week_page: Path, tmp_path: Path
) -> None:
    page = week_page.read_text(encoding="utf-8")
    texts = {}
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        seen = seen_in_browser(page, size, tmp_path, name)
        texts[name] = seen["text"]
        text = seen["text"]
        for host in story.HOSTS:
            assert host in text, name
        assert re.search(r"db-1\s+Status:\s+down|db-1\s+down", text), text[:600]
        assert "96.52%" in text  # db-1 over the last day
        assert "timeout: db-1.example.com:443 sent nothing for 5 s" in text
        assert "paused until 2026-01-07T22:00:00Z (operator)" in text
        assert (seen["scripts"], seen["images"], seen["svgs"]) == (0, 0, 3)  # a bar per host with a change
        assert seen["rects"] == 2  # db-1's two outages
        assert seen["scrollWidth"] <= seen["clientWidth"], f"{name}: the page scrolls sideways"
        assert seen["fontSize"] >= 14
    assert "Last success" in texts["desktop"]  # a table with its header...
    assert "Last success" not in texts["phone"]  # ...whose rows become labelled cards on a phone


def test_the_screenshots_are_not_blank(week_page: Path, tmp_path: Path) -> None:
    for size in (PHONE, DESKTOP):
        image = screenshot(week_page, size, tmp_path)
        assert image.size == size
        colours = image.getcolors(maxcolors=1_000_000) or []
        assert len(colours) > 50  # text, badges, bars: not one flat colour
        white = sum(count for count, colour in colours if min(colour) > 245)
        assert white < 0.97 * size[0] * size[1]
        reds = sum(count for count, (r, g, b) in colours if r > 180 and g < 90 and b < 90)
        assert reds > 100  # the down badge and outage marks are drawn


def test_hostile_host_names_and_messages_stay_text_and_run_nothing(
    monkeypatch: pytest.MonkeyPatch,
    s3: object,
    s3_seed: object,
    http_server: object,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chromium()
    now = story.NOW
    with check_result_env(monkeypatch, http_server):
        for host in HOSTILE_HOSTS:
            s3_seed.put(f"pulse/{host}.json", json.dumps({"result": "fail", "message": HOSTILE_MESSAGE}), now)
            record = {"reason": "job_failed", "detail": HOSTILE_MESSAGE, "message": HOSTILE_MESSAGE}
            s3_seed.put(f"failure/{host}.json", json.dumps(record), now)
        run_at(now, s3)
    page = write_page(isoformat(now + timedelta(minutes=1)), tmp_path, capsys).read_text(encoding="utf-8")
    without_csp = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    assert without_csp != page
    for name, variant in (("with-csp", page), ("without-csp", without_csp)):
        seen = seen_in_browser(variant, DESKTOP, tmp_path, name)
        assert seen["pwned"] is None, name
        assert (seen["scripts"], seen["images"], seen["handlers"]) == (0, 0, 0), name
        assert seen["svgs"] == len(HOSTILE_HOSTS), name  # our bars, and no other
        for host in HOSTILE_HOSTS:
            assert host in seen["text"], name  # shown as written
        assert "</li></ol><script>" in seen["text"], name
        assert "pulse-echo" in seen["title"], name
