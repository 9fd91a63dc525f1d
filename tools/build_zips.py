"""Build the two Lambda function zips, byte-reproducibly.

Usage: python tools/build_zips.py [OUT_DIR]   (default: dist/, the module's package directory)

Each zip holds its function's package and the shared ``pulse_echo`` package
(PACKAGES below), every ``.py`` file of them and nothing else. Entries are sorted, timestamps fixed at
1980-01-01 00:00:00 (the zip epoch), permissions fixed at 0644, and the
compression level fixed, so two builds of the same source give the same
bytes and Terraform's ``source_code_hash`` changes only when the code does.
Writes are atomic (temporary file, then rename).

The zips under dist/ are committed, so that every module source (a ``git::`` URL, a
registry, a path) plans and applies with no build step. A zip whose entries (names,
contents, dates, modes: ``unpacked()``) are those of the fresh build is left as it is:
another zlib may compress the same entries to other bytes, and rewriting the committed
zip then would change its hash, and every deployment's code, for nothing.
tests/unit/test_build_zips.py fails when a committed zip's entries differ from a fresh build.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "lambda_src"
DIST = ROOT / "dist"
"""The module's default package directory (``lambda_package_dir`` = null): committed zips."""
SHARED = "pulse_echo"

# function name -> the packages of lambda_src/ in its zip: its own and the shared one
PACKAGES: dict[str, list[str]] = {
    "check_echo": ["check_echo", SHARED],
    "check_result": ["check_result", SHARED],
}
HANDLERS = {function: f"{function}.handler.handler" for function in PACKAGES}
"""The Lambda handler of each function (``handler`` in main.tf)."""

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16


def zip_entries(function: str) -> list[str]:
    """The zip's entries, sorted: ``<package>/<module>.py`` for every module of its packages.

    Raises FileNotFoundError when a package is missing.
    """
    entries = []
    for package in PACKAGES[function]:
        directory = SOURCE / package
        if not (directory / "__init__.py").is_file():
            raise FileNotFoundError(f"{directory} is not a package")
        entries += [f"{package}/{path.name}" for path in directory.glob("*.py")]
    return sorted(entries)


ZipEntry = tuple[str, tuple[int, ...], int, bytes]
"""One entry of a zip as it unpacks: name, date and time, external attributes (mode), contents."""


def unpacked(path: Path) -> list[ZipEntry]:
    """What ``path`` unpacks to, entry by entry in archive order (compression aside); an empty
    list for a file that is not a zip."""
    if not zipfile.is_zipfile(path):
        return []
    with zipfile.ZipFile(path) as archive:
        return [
            (info.filename, info.date_time, info.external_attr, archive.read(info))
            for info in archive.infolist()
        ]


def build_zip(function: str, out_dir: Path) -> Path:
    """Write ``<out_dir>/<function>.zip`` and return its path; an existing zip with the same
    entries (see ``unpacked``) is kept as it is.

    Raises FileNotFoundError when a package is missing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{function}.zip"
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=f".{function}.", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp_name, "w") as archive:
            for name in zip_entries(function):
                data = (SOURCE / name).read_bytes()
                info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
                info.external_attr = FILE_MODE
                info.create_system = 3  # unix, whatever the build host is
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data, compresslevel=9)
        if not (target.is_file() and unpacked(target) == unpacked(Path(tmp_name))):
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def code_sha256(path: Path) -> str:
    """Return the base64 SHA-256 of a file, as Lambda's ``CodeSha256`` and Terraform's filebase64sha256()."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else DIST
    for function in sorted(PACKAGES):
        path = build_zip(function, out_dir)
        print(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
            f"{path.stat().st_size} bytes, sha256 {code_sha256(path)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
