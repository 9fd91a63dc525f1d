"""pulse-status --html: one self-contained status page, pure HTML and inline SVG.

What it holds: the fleet summary, one row per host (status, last success, reason, uptime over
1, 7 and 30 days; problems and the lowest uptime first) and a timeline of the last ``--days``
per host, drawn as SVG (up, down, paused, not watched yet), then the recent events. It needs
nothing else: inline CSS (allowed by its hash), no script, no image, no font, no link; a
Content-Security-Policy meta with ``default-src 'none'`` says so to the browser. It reads well
on a phone: below 40em each host row becomes a card.

Everything that comes from hosts (names, reasons, job messages) is untrusted: it is put on
one line (control and bidirectional characters escaped, as in the terminal) and HTML-escaped
(``&<>"'``) wherever it goes, text or attribute, HTML or SVG (an SVG inside HTML is parsed by
the HTML parser: the same escaping holds).
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Callable
from datetime import datetime, timedelta

from check_result.history import HistoryEvent
from check_result.model import STATUS_DOWN, STATUS_NEW, STATUS_PAUSED, STATUS_UP
from pulse_echo.text import one_line
from pulse_echo.times import format_duration, isoformat

from . import uptime as up
from .history import HostRow, Overview, event_detail, host_cell

MAX_ROWS = 1000
"""Hosts listed in the table at most (problems and the lowest uptime first); the rest are counted."""
MAX_LANES = 200
"""Hosts drawn in the timeline at most: those with an outage or a pause in it, or not up now."""
MAX_EVENTS = 100
WIDTH = 1000
"""The timeline's SVG width in user units (it is scaled to the page's width)."""

STYLE = """
:root{color-scheme:light dark;--up:#2e9d4f;--down:#d0342c;--paused:#8a8fa0;--new:#d49a00;
--unwatched:#d9dce3;--fg:#1c1e24;--muted:#5d6270;--bg:#fff;--line:#e3e5ea}
@media (prefers-color-scheme:dark){:root{--fg:#e8e9ed;--muted:#a3a8b5;--bg:#15171c;--line:#2c3038;
--unwatched:#3a3e48}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:72em;padding:1em;font:15px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin:1.6em 0 .5em}
.meta,.note{color:var(--muted);font-size:.9em}
.summary{display:flex;flex-wrap:wrap;gap:.5em;margin:1em 0}
.count{border:1px solid var(--line);border-radius:.4em;padding:.4em .8em;min-width:6em}
.count b{display:block;font-size:1.5em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4em .5em;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85em;color:var(--muted);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.host,.reason{overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:1em;padding:0 .6em;color:#fff;font-size:.85em;font-weight:600}
.s-up{background:var(--up)}.s-down{background:var(--down)}.s-paused{background:var(--paused)}
.s-new{background:var(--new)}.s-gone{background:var(--unwatched);color:var(--fg)}
.lane{display:grid;grid-template-columns:minmax(6em,14em) 1fr;gap:.6em;align-items:center;margin:.25em 0}
.lane .host{font-size:.9em}
svg.bar{width:100%;height:1.3em;display:block;border-radius:.2em}
.t-up{fill:var(--up)}.t-down{fill:var(--down)}.t-paused{fill:var(--paused)}.t-unwatched{fill:var(--unwatched)}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.8em}
.legend span{margin-right:1em;white-space:nowrap}
.key{display:inline-block;width:.9em;height:.9em;border-radius:.15em;vertical-align:-.1em;margin-right:.3em}
.k-up{background:var(--up)}.k-down{background:var(--down)}.k-paused{background:var(--paused)}
.k-unwatched{background:var(--unwatched)}
ol.events{padding-left:1.2em}ol.events li{margin:.3em 0;overflow-wrap:anywhere}
@media (max-width:40em){
thead{display:none}table,tbody,tr,td{display:block;width:100%}
tr{border:1px solid var(--line);border-radius:.4em;margin:.6em 0;padding:.3em}
td{border:0;padding:.2em .4em}td.num{text-align:left}
td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:.85em}
td.num{display:inline-block;width:auto;margin-right:.8em}td.empty{display:none}
.lane{grid-template-columns:1fr;gap:.1em}}
"""
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
CSP = f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; base-uri 'none'; form-action 'none'"
"""Nothing may load or run: only the inline style above, by its hash."""

_BADGES = {STATUS_UP: "s-up", STATUS_DOWN: "s-down", STATUS_PAUSED: "s-paused", STATUS_NEW: "s-new"}


def text(value: str, limit: int = 300) -> str:
    """Untrusted text for HTML or SVG, text or attribute: on one line, clipped, escaped."""
    return html.escape(one_line(value, limit), quote=True)


def when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{isoformat(moment)} ({format_duration((now - moment).total_seconds())} ago)"


def render_page(view: Overview, bucket: str) -> str:
    """The whole page, as text (UTF-8 when written)."""
    now = view.now
    counts = view.counts
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>pulse-echo: {text(bucket)} ({text(summary or 'no hosts')})</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header><h1>pulse-echo status</h1>",
        f'<p class="meta">s3://{text(bucket)} at {isoformat(now)} (UTC)</p></header>',
        _summary(counts),
        _table(view),
        _timeline(view),
        _events(view),
        '<footer class="note"><p>Uptime is the time a host was not down over the time it was watched, '
        "paused time left out; an outage runs from the last successful check before it to the first "
        "one after it. Generated by pulse-status --html.</p></footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(counts: dict[str, int]) -> str:
    cells = [
        f'<div class="count"><b>{counts.get(status, 0)}</b><span class="badge {badge}">{status}</span></div>'
        for status, badge in _BADGES.items()
        if status != STATUS_PAUSED or counts.get(status)
    ]
    total = sum(counts.values())
    return f'<section class="summary" aria-label="{total} hosts">{"".join(cells)}</section>'


def _table(view: Overview) -> str:
    rows = _problems_first(view.rows)
    head = (
        "<thead><tr><th>Host</th><th>Status</th><th>Last success</th><th>Reason</th>"
        "<th>1 day</th><th>7 days</th><th>30 days</th></tr></thead>"
    )
    body = [_row(row, view.now) for row in rows[:MAX_ROWS]]
    more = len(rows) - MAX_ROWS
    note = f'<p class="note">{more} more hosts not listed.</p>' if more > 0 else ""
    return f"<section><h2>Hosts</h2><table>{head}<tbody>{''.join(body)}</tbody></table>{note}</section>"


def _problems_first(rows: list[HostRow]) -> list[HostRow]:
    order = {STATUS_DOWN: 0, STATUS_NEW: 1, STATUS_PAUSED: 2, STATUS_UP: 3}
    return sorted(rows, key=lambda r: (order.get(r.status.status, 4) if r.status else 5, *r.worst_first()))


def _row(row: HostRow, now: datetime) -> str:
    status = row.status
    word = "not watched" if status is None else status.status
    badge = "s-gone" if status is None else _BADGES.get(status.status, "s-gone")
    if (
        status is not None
        and status.status == STATUS_PAUSED
        and status.profile
        and status.profile.pause_until
    ):
        word = f"paused until {isoformat(status.profile.pause_until)}"
    reason = "-" if status is None or status.reason is None else status.reason.detail
    cells = [
        f'<td class="host" data-label="Host">{text(row.host)}</td>',
        f'<td data-label="Status"><span class="badge {badge}">{text(word)}</span></td>',
        f'<td data-label="Last success">{when(status.last_ok_at if status else None, now)}</td>',
        f'<td class="reason{" empty" if reason == "-" else ""}" data-label="Reason">{text(reason, 400)}</td>',
        *(
            f'<td class="num" data-label="{w} day{"s" if w > 1 else ""}">'
            f"{up.percent(row.uptime(w).ratio)}</td>"
            for w in up.WINDOWS
        ),
    ]
    return f"<tr>{''.join(cells)}</tr>"


def _timeline(view: Overview) -> str:
    now, start = view.now, view.now - timedelta(days=view.days)
    lanes = [
        row
        for row in _problems_first(view.rows)
        if (row.status is not None and row.status.status != STATUS_UP)
        or up.clipped(row.history.outages, start, now)
        or up.clipped(row.history.paused, start, now)
    ]
    quiet = len(view.rows) - len(lanes)
    drawn = [_lane(row, start, now) for row in lanes[:MAX_LANES]]
    ticks = [isoformat(start + (now - start) * i / 4)[5:16].replace("T", " ") for i in range(5)]
    legend = "".join(
        f'<span><i class="key k-{name}"></i>{label}</span>'
        for name, label in (
            ("up", "up"),
            ("down", "down"),
            ("paused", "paused"),
            ("unwatched", "not watched"),
        )
    )
    notes = []
    if len(lanes) > MAX_LANES:
        notes.append(f"{len(lanes) - MAX_LANES} more hosts with outages or pauses not drawn.")
    if quiet:
        notes.append(f"{quiet} other host{'s' if quiet != 1 else ''}: up the whole time (or not watched).")
    return (
        f"<section><h2>Last {view.days} day{'s' if view.days != 1 else ''}</h2>"
        f'<p class="legend note">{legend}</p>{"".join(drawn)}'
        f'<div class="lane" aria-hidden="true"><span></span><div class="axis">'
        f"{''.join(f'<span>{t}</span>' for t in ticks)}</div></div>"
        f'<p class="note">{" ".join(notes)}</p></section>'
    )


def _lane(row: HostRow, start: datetime, now: datetime) -> str:
    """One host's bar: watched time green, outages red, pauses grey, before it was watched pale."""
    span = (now - start).total_seconds()

    def x(moment: datetime) -> float:
        return round((min(max(moment, start), now) - start).total_seconds() / span * WIDTH, 2)

    history = row.history
    paused = up.clipped(history.paused, start, now)
    down = up.minus(up.clipped(history.outages, start, now), paused)
    rects = []
    watched = max(start, history.watched_from) if history.watched_from else start
    if watched > start:
        rects.append(_rect("unwatched", start, watched, x, "not watched yet"))
    rects.append(_rect("up", watched, now, x, None))
    rects += [_rect("paused", a, b, x, "paused") for a, b in paused]
    rects += [_rect("down", a, b, x, "down") for a, b in down]
    month = row.uptime(30)
    label = (
        f"{row.host}: {len(down)} outage{'s' if len(down) != 1 else ''} "
        f"({format_duration(up.total(down).total_seconds())}) in the last {format_duration(span)}; "
        f"30-day uptime {up.percent(month.ratio)}"
    )
    return (
        f'<div class="lane"><div class="host">{text(row.host)}</div>'
        f'<svg class="bar" viewBox="0 0 {WIDTH} 10" preserveAspectRatio="none" role="img" '
        f'aria-label="{text(label, 600)}"><title>{text(label, 600)}</title>{"".join(rects)}</svg></div>'
    )


def _rect(kind: str, a: datetime, b: datetime, x: Callable[[datetime], float], what: str | None) -> str:
    left, right = x(a), x(b)
    width = max(right - left, 1.5 if kind in ("down", "paused") else 0)  # a short outage stays visible
    title = "" if what is None else f"<title>{what} {isoformat(a)} to {isoformat(b)} ({_span(a, b)})</title>"
    return f'<rect class="t-{kind}" x="{left}" y="0" width="{round(width, 2)}" height="10">{title}</rect>'


def _span(a: datetime, b: datetime) -> str:
    return format_duration((b - a).total_seconds())


def _events(view: Overview) -> str:
    events = view.events()
    items = [_event(event) for event in events[:MAX_EVENTS]]
    more = (
        f'<p class="note">{len(events) - MAX_EVENTS} older events not listed.</p>'
        if len(events) > MAX_EVENTS
        else ""
    )
    empty = '<p class="note">No status change.</p>' if not events else ""
    listed = f'<ol class="events">{"".join(items)}</ol>'
    return f"<section><h2>Events, newest first</h2>{empty}{listed}{more}</section>"


def _event(event: HistoryEvent) -> str:
    duration = "" if event.duration is None else f" ({format_duration(event.duration.total_seconds())})"
    detail = event_detail(event)
    return (
        f"<li><time>{isoformat(event.at)}</time> <b>{text(host_cell(event.host))}</b> "
        f"{event.event.replace('_', ' ')}{duration}{': ' + text(detail, 400) if detail else ''}</li>"
    )
