"""Cold start: import time of each handler module in a fresh interpreter, and zip sizes.

Usage: python bench/coldstart.py [--runs 7] [--json]

For each function zip under ``dist/`` (``make build``), and for each of two
layouts:

- ``zip``: the zip itself on ``PYTHONPATH`` (Python's zipimport);
- ``extracted``: the zip unpacked into a directory on ``PYTHONPATH``, which is
  what Lambda does (``/var/task``),

start ``python -X importtime -c "import <function>.handler; import boto3"``
several times and take the median of the handler's cumulative import time
(the function's package, its handler module, ``pulse_echo`` and everything they
import: botocore, urllib3...): that is what Lambda's Init phase runs. A
handler that imports boto3 only when first called pays for it in its first
invocation instead; the trailing ``import boto3`` measures that part
separately (0 when the handler imported it already).

``PYTHONDONTWRITEBYTECODE=1`` because Lambda's
``/var/task`` is read-only: our modules are compiled from source on every cold
start there, while boto3 in the runtime image is precompiled (here it comes
from the virtual environment, also precompiled).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "dist"
FUNCTIONS = ("check_echo", "check_result")
IMPORT_TARGET_MS = 150.0
ZIP_TARGET_BYTES = 100 * 1024
DEPENDENCIES = ("boto3", "botocore", "urllib3", "json", "logging")


@dataclass
class ImportLine:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


def parse_importtime(stderr: str) -> list[ImportLine]:
    """Parse ``-X importtime`` lines: ``import time: <self> | <cumulative> | <indent><name>``."""
    lines = []
    for raw in stderr.splitlines():
        if not raw.startswith("import time:"):
            continue
        parts = raw[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name_field = parts[2].rstrip()
        stripped = name_field.lstrip(" ")
        depth = (len(name_field) - len(stripped) - 1) // 2
        lines.append(ImportLine(int(parts[0]), int(parts[1]), depth, stripped))
    return lines


def handler_import_us(
    lines: list[ImportLine], package: str | tuple[str, ...] = "pulse_echo"
) -> dict[str, Any]:
    """Sum the handler's import time from parsed lines.

    ``package``: our top-level package name(s): the function's and ``pulse_echo``.
    ``cumulative_us``: cumulative time of their top-level imports (the package,
    then the handler module, each with what it imports);
    ``ours_self_us``: self time of our own modules only; ``lazy_boto3_us``:
    cumulative time of a top-level ``import boto3`` that comes after the
    handler's import (see measure_once), 0 if the handler imported it already;
    ``deps_us``: self time of every module of each notable dependency (boto3,
    botocore, urllib3...), summed per package.
    """
    ours_names = (package,) if isinstance(package, str) else package
    top = [line for line in lines if line.depth == 0 and line.name.split(".")[0] in ours_names]
    # boto3 imported at top level *after* the handler: the handler imports it lazily, on its first
    # call (a cost of the first invocation rather than of the Init phase); 0 when already imported
    seen_handler = False
    lazy_boto3 = 0
    for line in lines:
        if line.depth == 0 and line.name.split(".")[0] in ours_names:
            seen_handler = True
        elif seen_handler and line.depth == 0 and line.name == "boto3":
            lazy_boto3 = line.cumulative_us
    ours = [line for line in lines if line.name.split(".")[0] in ours_names]
    deps: dict[str, int] = {}
    for line in lines:
        root = line.name.split(".")[0]
        if root in DEPENDENCIES:
            deps[root] = deps.get(root, 0) + line.self_us
    return {
        "cumulative_us": sum(line.cumulative_us for line in top),
        "lazy_boto3_us": lazy_boto3,
        "ours_self_us": sum(line.self_us for line in ours),
        "deps_us": deps,
        "modules_imported": len(lines),
    }


def ensure_zips(build: Path = BUILD) -> Path:
    """Return a directory holding both zips: ``dist/`` if complete, else a fresh build in a temp dir."""
    if all((build / f"{name}.zip").exists() for name in FUNCTIONS):
        return build
    sys.path.insert(0, str(ROOT / "tools"))
    import build_zips  # type: ignore[import-not-found]

    out = Path(tempfile.mkdtemp(prefix="pulse-echo-zips-"))
    for name in FUNCTIONS:
        build_zips.build_zip(name, out)
    return out


def _child_env(path_entry: Path, **extra: str) -> dict[str, str]:
    """This environment without Python, AWS or virtualenv settings; ``path_entry`` alone on PYTHONPATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "AWS_")) and key != "VIRTUAL_ENV"
    }
    env.update({"PYTHONPATH": str(path_entry), "PYTHONDONTWRITEBYTECODE": "1", **extra})
    return env


def measure_once(function: str, path_entry: Path) -> dict[str, Any]:
    env = _child_env(path_entry, AWS_DEFAULT_REGION="us-east-1")
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {function}.handler; import boto3"],
        env=env,
        cwd=tempfile.gettempdir(),  # nothing of the repository on sys.path but the zip
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"importing {function}.handler from {path_entry} failed:\n{completed.stderr[-2000:]}"
        )
    return handler_import_us(parse_importtime(completed.stderr), (function, "pulse_echo"))


def measure(runs: int = 7) -> dict[str, Any]:
    """Median import time per function and layout, plus zip sizes; returns a JSON-able dict."""
    zips = ensure_zips()
    results: dict[str, Any] = {"runs": runs, "python": sys.version.split()[0], "functions": {}}
    with tempfile.TemporaryDirectory(prefix="pulse-echo-task-") as scratch:
        for function in FUNCTIONS:
            zip_path = zips / f"{function}.zip"
            task_dir = Path(scratch) / function
            with zipfile.ZipFile(zip_path) as archive:
                archive.extractall(task_dir)
                entries = archive.namelist()
            entry: dict[str, Any] = {
                "zip_bytes": zip_path.stat().st_size,
                "zip_entries": len(entries),
                "unzipped_bytes": sum(p.stat().st_size for p in task_dir.rglob("*") if p.is_file()),
            }
            for layout, path_entry in (("extracted", task_dir), ("zip", zip_path)):
                samples = [measure_once(function, path_entry) for _ in range(runs)]
                cumulative = [s["cumulative_us"] / 1000 for s in samples]
                first_call = [(s["cumulative_us"] + s["lazy_boto3_us"]) / 1000 for s in samples]
                ours = [s["ours_self_us"] / 1000 for s in samples]
                deps = {
                    name: statistics.median(s["deps_us"].get(name, 0) for s in samples) / 1000
                    for name in DEPENDENCIES
                    if any(name in s["deps_us"] for s in samples)
                }
                entry[layout] = {
                    "median_ms": statistics.median(cumulative),
                    "min_ms": min(cumulative),
                    "max_ms": max(cumulative),
                    "ours_self_median_ms": statistics.median(ours),
                    "with_lazy_boto3_median_ms": statistics.median(first_call),
                    "deps_median_ms": deps,
                    "modules_imported": samples[0]["modules_imported"],
                }
            entry["import_pass"] = entry["extracted"]["median_ms"] <= IMPORT_TARGET_MS
            entry["zip_pass"] = entry["zip_bytes"] <= ZIP_TARGET_BYTES
            results["functions"][function] = entry
        # reference: boto3 alone, in the same conditions (it is precompiled, like in the runtime)
        reference = [_boto3_alone_us(Path(scratch)) / 1000 for _ in range(runs)]
        results["boto3_alone"] = {"median_ms": statistics.median(reference), "min_ms": min(reference)}
    return results


def _boto3_alone_us(empty_dir: Path) -> int:
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import boto3"],
        env=_child_env(empty_dir),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    top = [line for line in parse_importtime(completed.stderr) if line.depth == 0 and line.name == "boto3"]
    return top[-1].cumulative_us if top else 0


def table(results: dict[str, Any]) -> str:
    """Render the cold-start results as a Markdown table."""
    runs = results["runs"]
    rows = [
        f"| function | zip size | import (Init), extracted, median of {runs} | same, from the zip "
        "| of which our modules (self) | of which dependencies | + boto3 imported on the first call "
        "| import ≤ 150 ms | zip ≤ 100 KB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for function, entry in results["functions"].items():
        extracted, zipped = entry["extracted"], entry["zip"]
        dependencies_ms = extracted["median_ms"] - extracted["ours_self_median_ms"]
        rows.append(
            f"| {function} | {entry['zip_bytes'] / 1024:.1f} KB "
            f"| {extracted['median_ms']:.0f} ms "
            f"(min {extracted['min_ms']:.0f}, max {extracted['max_ms']:.0f}) "
            f"| {zipped['median_ms']:.0f} ms | {extracted['ours_self_median_ms']:.0f} ms "
            f"| {dependencies_ms:.0f} ms "
            f"| {extracted['with_lazy_boto3_median_ms']:.0f} ms "
            f"| {'PASS' if entry['import_pass'] else 'FAIL'} | {'PASS' if entry['zip_pass'] else 'FAIL'} |"
        )
    alone = results.get("boto3_alone")
    if alone:
        rows.append(
            f"| reference: `import boto3` alone | | {alone['median_ms']:.0f} ms (min {alone['min_ms']:.0f}) "
            "| | | | | | |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = measure(args.runs)
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
