"""``make bench``: every benchmark, its tables (Markdown, as pasted in docs/scale.md), bench/results.json.

Usage: python bench/run.py [--sizes 1000,10000,50000] [--skip-cost]

Runs, in order:

1. check_result at scale (bench/scale.py), one fresh process per size, and the
   original algorithm (bench/baseline_original.py) on the same bucket;
2. cold start of both handler modules (bench/coldstart.py);
3. time to alert on a fake clock (bench/time_to_alert.py);
4. the monthly cost (bench/cost.py), with what one invocation does measured
   in moto and check_result's duration taken from step 1.

Targets (issues "Scale and speed" and "Alert within a minute of the deadline", DESIGN
§2b): S3 requests per run ≤ ceil(hosts/1000) per listed prefix + a constant per
changed pulse and per status change + a constant; Python heap peak at 50,000
hosts ≤ 64 MiB (half of a 128 MB function); estimated Lambda time of a sweep ≤
half the schedule's period (or of the timeout, if shorter); handler import ≤ 150
ms; zip ≤ 100 KB; at the module's defaults an alert at most 60 s after the
host's deadline (16:00 after the last success for the default host); the new
schedule at most +$1 a month up to 1,000 hosts and +5% at 10,000.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "lambda_src", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from check_result.bucket import PARALLEL_READS  # noqa: E402

from bench import coldstart, cost, scale, time_to_alert  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
DEFAULT_SIZES = (1000, 10_000, 50_000)

# The request bound's constants (docs/scale.md, "How many hosts?"): per run, the run lease (PUT,
# DELETE), the state document (GET, PUT when it changed), the pulse index (GET, PUT when it changed),
# the operator's pauses (GET) and one history object (PUT, when something changed); per changed
# pulse, one GET of it (at most PULSE_READS_PER_RUN); per status change, at most one GET of the
# record the message quotes (never more than ALERT_MAX_HOSTS_LISTED of them).
CONSTANT_REQUESTS = 8
PER_CHANGE_REQUESTS = 1
RUNS = ("first_run", "steady_run", "rebuild_run")
HEAP_TARGET_MB = 64.0  # half of a 128 MB function
S3_LIST_LATENCY_S = 0.03  # assumed in-region latency of one S3 request (estimate)
LAMBDA_MEMORY_TARGET_MB = 128.0
PROFILE_MAX_HOSTS = 10_000  # cProfile (3x slower) only up to this size


def lambda_base_rss_mb() -> float:
    """RSS of a fresh interpreter holding what a warm check_result container holds before a run:
    the handler module, boto3 and the handler's S3 client (no moto). MiB."""
    code = (
        "import check_result.handler as h; h._client('s3'); "
        "print([l for l in open('/proc/self/status') if l.startswith('VmRSS:')][0].split()[1])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lambda_src")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")  # noqa: S106 - dummy
    env.update(AWS_DEFAULT_REGION="us-east-1")
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    return int(completed.stdout.strip()) / 1024


def run_scale(hosts: int) -> dict[str, Any]:
    """Measure one size in a fresh interpreter (its own ru_maxrss, its own moto)."""
    repeats = 3  # the median of three steady runs: one run on a shared machine can be 30% off
    command = [sys.executable, str(ROOT / "bench" / "scale.py"), "--hosts", str(hosts), "--json"]
    command += ["--repeats", str(repeats)]
    if hosts > PROFILE_MAX_HOSTS:
        command.append("--no-profile")  # the moto timer still splits the time; cProfile would add ~70 s
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f"bench/scale.py --hosts {hosts} failed:\n{completed.stderr[-4000:]}")
    data = json.loads(completed.stdout.strip().splitlines()[-1])
    data["bench_seconds"] = time.perf_counter() - started
    return data


def judge_scale(data: dict[str, Any], defaults: dict[str, Any], base_rss_mb: float) -> dict[str, Any]:
    """Add the targets' verdicts and the Lambda time estimate to one size's measurements."""
    hosts = data["hosts"]
    pages_allowed = math.ceil(hosts / scale.LIST_PAGE_SIZE)
    verdict: dict[str, Any] = {}
    for run in RUNS:
        requests = data[run]["requests"]
        changes = changes_in(data[run].get("summary"))
        prefixes = requests["list_pages_by_prefix"]
        bound = scale.request_bound(hosts, len(prefixes), changes, PER_CHANGE_REQUESTS, CONSTANT_REQUESTS)
        per_prefix_ok = all(pages <= pages_allowed for pages in prefixes.values())
        verdict[run] = {
            "requests": requests["total"],
            "bound": bound,
            "pass": per_prefix_ok and requests["total"] <= bound,
        }
    heap = data.get("tracemalloc_peak_mb", {}).get("first_run")
    verdict["heap_peak_mb"] = heap
    verdict["heap_pass"] = None if heap is None else heap <= HEAP_TARGET_MB

    memory_mb = defaults.get("check_result_memory_mb", cost.Usage.check_result_memory_mb)
    timeout = defaults.get("check_result_timeout_seconds", float(scale.DEFAULT_TIMEOUT_SECONDS))
    # A sweep must leave half of the schedule's period (or of the timeout, if shorter) free.
    budget = min(timeout, defaults.get("schedule_period_seconds", timeout))
    verdict["s3_waits"] = s3_waits(data["steady_run"])
    estimate = lambda_estimate(data, memory_mb)
    verdict["local_without_moto_s"] = data["steady_run"]["cpu_outside_moto_seconds"]
    verdict["lambda_estimate_s"] = estimate
    verdict["lambda_memory_mb"] = memory_mb
    verdict["cpu_factor"] = cpu_factor(memory_mb)
    verdict["timeout_s"] = timeout
    verdict["budget_s"] = budget
    verdict["time_pass"] = estimate <= budget / 2
    growth = data["first_run"].get("rss_growth_mb")
    verdict["lambda_base_rss_mb"] = base_rss_mb
    verdict["lambda_memory_estimate_mb"] = None if growth is None else base_rss_mb + growth
    data["verdict"] = verdict
    return data


def cpu_factor(memory_mb: float) -> float:
    """How much slower than one full vCPU a function of ``memory_mb`` runs: Lambda gives CPU in
    proportion to memory, a full vCPU at LAMBDA_FULL_VCPU_MB."""
    return max(1.0, scale.LAMBDA_FULL_VCPU_MB / memory_mb)


def lambda_estimate(data: dict[str, Any], memory_mb: float) -> float:
    """Estimated Lambda time (seconds) of one size's steady run at ``memory_mb``: its CPU time
    outside moto (our code, botocore, the webhook client: what Lambda would run too; CPU rather
    than wall time, so that other work on this machine does not inflate it) scaled by
    cpu_factor, plus S3_LIST_LATENCY_S for each wait for S3 (s3_waits)."""
    steady = data["steady_run"]
    return steady["cpu_outside_moto_seconds"] * cpu_factor(memory_mb) + s3_waits(steady) * S3_LIST_LATENCY_S


def s3_waits(run: dict[str, Any]) -> int:
    """How many times a run waits for S3 in turn: the three listings page at once (the longest
    one's pages), the changed pulses are read PARALLEL_READS at a time, every other request
    (the lease, the state, the index, the pauses) one after the other."""
    requests = run["requests"]
    read = (run.get("summary") or {}).get("pulses_read", 0)
    pages = requests["list_pages_by_prefix"]
    others = requests["total"] - sum(pages.values()) - read
    return max(pages.values(), default=0) + others + math.ceil(read / PARALLEL_READS)


def changes_in(summary: Any) -> int:
    """What a run's summary says changed: the pulses it read, plus its events (status changes)."""
    if not isinstance(summary, dict):
        return 0
    return int(summary.get("pulses_read", 0)) + int(summary.get("events_sent", 0))


def _pf(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def scale_table(sizes: list[dict[str, Any]]) -> str:
    lines = [
        "| hosts (objects) | S3 requests: first run / steady, 1% of pulses changed / index rebuild | "
        f"bound: ceil(hosts/1000) × prefixes + {PER_CHANGE_REQUESTS} × (changed pulses + status changes) "
        f"+ {CONSTANT_REQUESTS} | wall time here: first / steady "
        "(share of its CPU in moto) | Lambda estimate, steady (≤ half the period) "
        "| heap peak, first run (≤ 64 MiB) | memory estimate in Lambda (≤ 128 MB) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for data in sizes:
        v = data["verdict"]
        first, steady, rebuild = data["first_run"], data["steady_run"], data["rebuild_run"]
        lists = ", ".join(f"{p} {n}" for p, n in steady["requests"]["list_pages_by_prefix"].items())
        read = {run: (data[run].get("summary") or {}).get("pulses_read", 0) for run in RUNS}
        memory = v["lambda_memory_estimate_mb"]
        memory_text = (
            "n/a"
            if memory is None
            else f"{memory:.0f} MiB ({v['lambda_base_rss_mb']:.0f} at rest + {first['rss_growth_mb']:.0f} "
            f"in the run): {_pf(memory <= LAMBDA_MEMORY_TARGET_MB)}"
        )
        lines.append(
            f"| {data['hosts']:,} ({data['objects']:,}) "
            f"| {first['requests']['total']} / {steady['requests']['total']} ({read['steady_run']} pulses "
            f"read) / {rebuild['requests']['total']} ({read['rebuild_run']} read) (lists: {lists}) "
            f"| {v['first_run']['bound']} / {v['steady_run']['bound']} / {v['rebuild_run']['bound']}: "
            f"{_pf(all(v[run]['pass'] for run in RUNS))} "
            f"| {first['seconds']:.2f} s / {steady['seconds']:.2f} s ({steady['moto_share']:.0%}) "
            f"| {v['lambda_estimate_s']:.1f} s of {v['budget_s']:.0f} s: {_pf(v['time_pass'])} "
            f"({v['local_without_moto_s']:.2f} s CPU here) "
            f"| {v['heap_peak_mb']:.1f} MiB: {_pf(v['heap_pass'])} "
            f"| {memory_text} |"
        )
    return "\n".join(lines)


def baseline_table(sizes: list[dict[str, Any]]) -> str:
    lines = [
        "| hosts | stale | original: S3 requests, alerts sent, stale hosts missed, false alarms | pulse-echo "
        "first run: requests, messages, hosts alerted | requests ratio | next run: original alerts again / "
        "pulse-echo |",
        "| --- | ---: | --- | --- | ---: | --- |",
    ]
    for data in sizes:
        base = data["baseline"]
        first = data["first_run"]
        summary = first.get("summary") or {}
        alerted = _alerted_count(summary)
        ratio = first["requests"]["total"] / max(1, base["requests"]["total"])
        lines.append(
            f"| {data['hosts']:,} | {data['stale']} "
            f"| {base['requests']['total']}, {base['alerted']} alert post{_plural(base['alerted'])}, "
            f"**{base['missed']} missed**, **{base.get('false_alarms', 0)} false** "
            f"| {first['requests']['total']}, {first['messages']} message{_plural(first['messages'])}, "
            f"{alerted} "
            f"| {ratio:.0f}× "
            f"| {base['alerted']} again / {data['steady_run']['messages']} |"
        )
    return "\n".join(lines)


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _alerted_count(summary: Any) -> str:
    """Pull the number of down events out of the handler's summary, whatever its exact shape."""
    if isinstance(summary, dict):
        for key in ("events", "event_counts"):
            value = summary.get(key)
            if isinstance(value, dict) and "down" in value:
                return f"{value['down']} down"
        if "down" in summary and isinstance(summary["down"], int):
            return f"{summary['down']} down"
    return "see results.json"


def profile_table(sizes: list[dict[str, Any]]) -> str:
    lines = [
        "| hosts | profiled steady run | in moto (emulated S3 server) | botocore + boto3 (self time) "
        "| pulse_echo (self time) | top pulse_echo function (cumulative) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for data in sizes:
        p = data.get("profile_steady_run")
        if not p:
            continue
        by_package = p["self_seconds_by_package"]
        client = by_package.get("botocore", 0) + by_package.get("boto3", 0)
        top = p["top_pulse_echo_functions"][0] if p["top_pulse_echo_functions"] else None
        top_text = f"{top['function']} {top['cumulative_s']:.2f} s" if top else "-"
        lines.append(
            f"| {data['hosts']:,} | {p['profiled_total_seconds']:.2f} s | {p['moto_seconds']:.2f} s "
            f"({p['moto_share']:.0%}) | {client:.2f} s (self) | {p['ours_self_seconds']:.2f} s | {top_text} |"
        )
    return "\n".join(lines)


def cost_overrides(
    scale_results: list[dict[str, Any]], defaults: dict[str, Any], alert: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The cost model's inputs from the other benchmarks: check_result's duration (a line through
    the measured sizes' Lambda estimates, or from the largest alone), and how long an
    invocation waits for a deadline check on average (the time-to-alert simulation's)."""
    memory = ("check_echo_memory_mb", "check_result_memory_mb")
    overrides: dict[str, Any] = {name: defaults[name] for name in memory if name in defaults}
    overrides["architecture"] = defaults.get("architecture", "x86_64")
    overrides.update(
        durations(scale_results, overrides.get("check_result_memory_mb", cost.Usage.check_result_memory_mb))
    )
    # The old defaults ran check_result at another memory: its own duration, from the same runs.
    overrides[cost.BEFORE_KEY] = durations(scale_results, cost.BEFORE["check_result_memory_mb"])
    waits = [row["mean_wait"] for row in (alert or {}).get("rows", []) if row["goal_pass"] is not None]
    if waits:
        overrides["deadline_wait_seconds"] = round(max(waits), 2)
    return overrides


def durations(scale_results: list[dict[str, Any]], memory_mb: float) -> dict[str, float]:
    """check_result's duration for the cost model at ``memory_mb``: a line through the measured
    sizes' Lambda estimates (or through the largest alone); {} when none was measured."""
    points = [(d["hosts"] / 1000, lambda_estimate(d, memory_mb)) for d in scale_results]
    if len(points) >= 2:
        base, per_1000 = line_through(points)
        return {
            "check_result_seconds_per_1000_hosts": round(per_1000, 4),
            "check_result_seconds_base": round(max(base, 0.1), 3),
        }
    if points:
        return {
            "check_result_seconds_per_1000_hosts": round(points[0][1] / points[0][0], 4),
            "check_result_seconds_base": 0.5,
        }
    return {}


def sweep_seconds(scale_results: list[dict[str, Any]]) -> dict[str, float] | None:
    """A sweep's own time for the time-to-alert table: the Lambda estimates of the smallest and
    the largest measured size (None when none was measured: the simulation's defaults)."""
    if not scale_results:
        return None
    ordered = sorted(scale_results, key=lambda d: d["hosts"])
    return {
        f"{d['hosts']:,} hosts": round(d["verdict"]["lambda_estimate_s"], 1)
        for d in (ordered[0], ordered[-1])
    }


def line_through(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares: ``(intercept, slope)`` of the line through ``points`` (x, y)."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x in xs)
    return mean_y - slope * mean_x, slope


def run_cost(overrides: dict[str, Any]) -> dict[str, Any]:
    command = [
        sys.executable,
        str(ROOT / "bench" / "cost.py"),
        "--json",
        "--overrides",
        json.dumps(overrides),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f"bench/cost.py failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"moto {_version('moto')}, boto3 {_version('boto3')}"
    )


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--coldstart-runs", type=int, default=7)
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    started = time.perf_counter()
    defaults = scale.read_module_defaults()
    report: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "module_defaults": defaults,
    }
    out = print

    out(f"# pulse-echo benchmarks, {report['date']}\n\nMachine: {report['machine']}.\n")

    failures: list[str] = []
    scale_results: list[dict[str, Any]] = []

    def section(title: str, work: Any) -> None:
        """Run one benchmark; on error print why, keep going, and fail the whole run at the end."""
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - report every benchmark that broke, then exit 1
            failures.append(title)
            out(f"## {title}\n\nNOT MEASURED: {type(exc).__name__}: {str(exc)[:1500]}\n")

    def at_scale() -> None:
        base_rss = lambda_base_rss_mb()
        for hosts in sizes:
            print(f"... check_result at {hosts:,} hosts", file=sys.stderr, flush=True)
            scale_results.append(judge_scale(run_scale(hosts), defaults, base_rss))
        report["scale"] = scale_results
        out("## check_result at scale (moto in-process, kinds mixed, 0.1% stale, 1% of pulses changing)\n")
        out(scale_table(scale_results) + "\n")
        out(f"### Where the time goes (cProfile of one steady run, up to {PROFILE_MAX_HOSTS:,} hosts)\n")
        out(profile_table(scale_results) + "\n")
        out("### Against the original algorithm (one ListObjects call, an alert per stale echo per run)\n")
        out(baseline_table(scale_results) + "\n")

    def cold() -> None:
        print("... cold start", file=sys.stderr, flush=True)
        result = coldstart.measure(args.coldstart_runs)
        report["coldstart"] = result
        out("## Cold start (import of the handler module in a fresh interpreter)\n")
        out(coldstart.table(result) + "\n")

    def alert() -> None:
        print("... time to alert", file=sys.stderr, flush=True)
        result = time_to_alert.measure(sweep_seconds=sweep_seconds(scale_results))
        report["time_to_alert"] = result
        out(f"## Time to alert (fake clock, every phase at {result['step_seconds']:g} s resolution)\n")
        out(time_to_alert.table(result) + "\n")

    def costs() -> None:
        print("... cost", file=sys.stderr, flush=True)
        result = run_cost(cost_overrides(scale_results, defaults, report.get("time_to_alert")))
        report["cost"] = result
        out("## Monthly cost at the default settings (us-east-1, 30-day month)\n")
        out(cost.table(result) + "\n")
        not_measured = {k: v for k, v in result["measured"]["details"].items() if "not_measured" in v}
        if not_measured:
            raise RuntimeError(f"per-invocation figures not measured: {not_measured}")

    if sizes:
        section("check_result at scale", at_scale)
    section("cold start", cold)
    section("time to alert", alert)
    if not args.skip_cost:
        section("cost", costs)

    report["total_seconds"] = time.perf_counter() - started
    report["failed"] = failures
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    out(f"Total: {report['total_seconds']:.0f} s. Raw figures: bench/results.json.")
    if failures:
        print(f"FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
