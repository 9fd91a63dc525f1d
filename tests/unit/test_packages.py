"""The tree shows the architecture: no import crosses between the two functions' packages,
the shared package imports neither (nor anything beyond the standard library), and the
operator tools' launchers and install find their code."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.helpers import ROOT, SCRIPTS, assert_one_line_error

LAMBDA_SRC = ROOT / "lambda_src"
TOOLS = ["pulse-status", "pulse-forget", "pulse-pause"]
"""The operator's tools: a launcher in scripts/ and a [project.scripts] entry each."""
OURS = {"pulse_echo", "check_echo", "check_result", "pulse_echo_cli"}
MAY_IMPORT = {
    "pulse_echo": {"pulse_echo"},
    "check_echo": {"check_echo", "pulse_echo"},
    "check_result": {"check_result", "pulse_echo"},
    "pulse_echo_cli": {"pulse_echo_cli", "pulse_echo", "check_result"},
}


def imported_packages(path: Path, package: str) -> set[str]:
    """The top-level names a module imports (``from . import x`` counts as its own package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(package if node.level else (node.module or "").split(".")[0])
    return names


def modules(package: str) -> list[Path]:
    return sorted((LAMBDA_SRC / package).glob("*.py"))


def test_lambda_src_holds_exactly_the_four_packages() -> None:
    assert {path.name for path in LAMBDA_SRC.iterdir() if (path / "__init__.py").exists()} == OURS


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_no_import_crosses_between_the_functions_packages(package: str) -> None:
    for path in modules(package):
        ours = imported_packages(path, package) & OURS
        assert ours <= MAY_IMPORT[package], (
            f"{path.relative_to(ROOT)} imports {sorted(ours - MAY_IMPORT[package])}"
        )


def test_the_shared_package_needs_only_the_standard_library() -> None:
    for path in modules("pulse_echo"):
        outside = {
            name for name in imported_packages(path, "pulse_echo") if name not in sys.stdlib_module_names
        }
        assert outside <= {"pulse_echo", "__future__"}, f"{path.name} imports {sorted(outside)}"


def test_the_checker_sees_a_crossing_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text(
        "from check_result.rules import evaluate\nfrom . import probe\nimport pulse_echo.text\n"
    )
    assert imported_packages(module, "check_echo") == {"check_result", "check_echo", "pulse_echo"}


def test_no_product_python_file_is_over_500_lines() -> None:
    files = [*LAMBDA_SRC.rglob("*.py"), *(SCRIPTS / tool for tool in TOOLS)]
    lines = {path.relative_to(ROOT): len(path.read_text(encoding="utf-8").splitlines()) for path in files}
    assert {path: count for path, count in lines.items() if count > 500} == {}


@pytest.mark.parametrize("tool", TOOLS)
def test_a_launcher_without_its_code_says_how_to_install_in_one_line(tmp_path: Path, tool: str) -> None:
    (tmp_path / "scripts").mkdir()
    launcher = tmp_path / "scripts" / tool
    shutil.copy(SCRIPTS / tool, launcher)

    result = subprocess.run(
        [sys.executable, "-I", str(launcher), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (result.returncode, result.stdout) == (1, "")
    assert_one_line_error(tool, result.stderr, "lambda_src", "pipx install")


def test_pyproject_installs_the_commands_with_boto3() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"] == {
        "pulse-status": "pulse_echo_cli.status:main",
        "pulse-forget": "pulse_echo_cli.forget:main",
        "pulse-pause": "pulse_echo_cli.pause:main",
    }
    assert any(requirement.startswith("boto3") for requirement in project["project"]["dependencies"])
    assert project["tool"]["setuptools"]["package-dir"] == {"": "lambda_src"}
    assert set(project["tool"]["setuptools"]["packages"]) == {"pulse_echo", "check_result", "pulse_echo_cli"}
