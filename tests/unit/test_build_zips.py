"""The Lambda zips are byte-reproducible and hold their function's package and pulse_echo, all of it used."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools import build_zips

FUNCTIONS = sorted(build_zips.PACKAGES)


def _build_all(out_dir: Path) -> dict[str, bytes]:
    return {function: build_zips.build_zip(function, out_dir).read_bytes() for function in FUNCTIONS}


def test_two_builds_give_identical_bytes(tmp_path: Path) -> None:
    first = _build_all(tmp_path / "one")
    second = _build_all(tmp_path / "two")
    assert first == second


def test_source_timestamps_and_a_stray_pycache_do_not_change_the_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _build_all(tmp_path / "before")
    # A copy of the source as another clone made later would have it: new mtimes, a __pycache__.
    source = tmp_path / "clone" / "lambda_src"
    shutil.copytree(build_zips.SOURCE, source, ignore=shutil.ignore_patterns("__pycache__"))
    for path in source.rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    (source / "pulse_echo" / "__pycache__").mkdir(exist_ok=True)
    (source / "pulse_echo" / "__pycache__" / "settings.cpython-311.pyc").write_bytes(b"stale bytecode")
    monkeypatch.setattr(build_zips, "SOURCE", source)
    assert _build_all(tmp_path / "after") == before


@pytest.mark.parametrize("function", FUNCTIONS)
def test_zip_entries_are_sorted_with_fixed_time_and_mode(tmp_path: Path, function: str) -> None:
    path = build_zips.build_zip(function, tmp_path)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    packages = build_zips.PACKAGES[function]
    assert packages == [function, "pulse_echo"]
    sources = {package: (build_zips.SOURCE / package).glob("*.py") for package in packages}
    expected = [f"{package}/{path.name}" for package, paths in sources.items() for path in paths]
    assert names == sorted(expected)
    assert all("__pycache__" not in name and not name.endswith(".pyc") for name in names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_handler_imports_from_its_zip_alone_and_uses_all_of_it(tmp_path: Path, function: str) -> None:
    path = build_zips.build_zip(function, tmp_path)
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(path)!r})\n"
        f"import {build_zips.HANDLERS[function].rpartition('.')[0]} as handler_module\n"
        "assert callable(handler_module.handler)\n"
        "ours = ('pulse_echo', 'check_echo', 'check_result', 'pulse_echo_cli')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ours)))\n"
    )
    # -I: isolated mode, so neither the repo nor lambda_src is on sys.path; only the zip is.
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout))
    in_zip = {
        name.removesuffix("/__init__.py").removesuffix(".py").replace("/", ".")
        for name in build_zips.zip_entries(function)
    }
    assert loaded == in_zip


def test_code_sha256_is_lambdas_base64_sha256(tmp_path: Path) -> None:
    path = build_zips.build_zip("check_echo", tmp_path)
    expected = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    assert build_zips.code_sha256(path) == expected


# --- the committed zips (dist/): what every module source deploys ---


def _difference(committed: list[build_zips.ZipEntry], fresh: list[build_zips.ZipEntry]) -> str:
    """The entries that differ, by name: what a developer needs to see."""
    old, new = {entry[0]: entry for entry in committed}, {entry[0]: entry for entry in fresh}
    changed = sorted(name for name in old.keys() & new.keys() if old[name] != new[name])
    parts = [
        f"{label}: {', '.join(names)}"
        for label, names in (
            ("changed", changed),
            ("not in the committed zip", sorted(new.keys() - old.keys())),
            ("no longer in lambda_src", sorted(old.keys() - new.keys())),
        )
        if names
    ]
    return "; ".join(parts) or "same entries in another order"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_committed_zip_is_a_fresh_build_of_lambda_src(tmp_path: Path, function: str) -> None:
    """dist/ is what a git:: or registry source deploys, with no build step. Compared entry by
    entry (name, contents, date, mode), not byte for byte: another zlib on a contributor's
    machine may compress the same entries differently, and that is not a stale zip."""
    committed = build_zips.DIST / f"{function}.zip"
    assert committed.is_file(), f"{committed} is missing: run `make build` and commit dist/"
    fresh = build_zips.unpacked(build_zips.build_zip(function, tmp_path))
    found = build_zips.unpacked(committed)
    assert found == fresh, (
        f"dist/{function}.zip is not a build of lambda_src as it is "
        f"({_difference(found, fresh)}): run `make build` and commit dist/"
    )


def test_a_zip_with_the_same_entries_is_kept_byte_for_byte(tmp_path: Path) -> None:
    """Another zlib's bytes for the same entries are left alone: no new hash, no redeploy."""
    target = build_zips.build_zip("check_echo", tmp_path)
    recompressed = tmp_path / "recompressed.zip"
    with zipfile.ZipFile(target) as source, zipfile.ZipFile(recompressed, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info), compresslevel=1)
    assert recompressed.read_bytes() != target.read_bytes()
    os.replace(recompressed, target)
    kept = target.read_bytes()

    build_zips.build_zip("check_echo", tmp_path)

    assert target.read_bytes() == kept
    assert sorted(path.name for path in tmp_path.iterdir()) == ["check_echo.zip"]  # no temporary left


def test_a_zip_with_other_entries_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "check_echo.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("check_echo/handler.py", "stale = True\n")
    build_zips.build_zip("check_echo", tmp_path)
    assert build_zips.unpacked(target) == build_zips.unpacked(
        build_zips.build_zip("check_echo", tmp_path / "x")
    )
    target.write_bytes(b"not a zip")
    build_zips.build_zip("check_echo", tmp_path)
    assert zipfile.is_zipfile(target)
