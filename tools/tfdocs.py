"""Generate the README's inputs and outputs tables from variables.tf and outputs.tf.

Usage:
    python tools/tfdocs.py           rewrite README.md between the markers (make docs)
    python tools/tfdocs.py --check   exit 1 when README.md is out of date

The tables go between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->``;
nothing else in the README is touched. Inputs are listed in the order
variables.tf declares them (grouped there by purpose), required ones marked.

A small reader of the HCL native syntax, enough for variable and output
blocks: top-level blocks, their attributes (``name = expression``, where the
expression may span lines inside brackets, strings with ``${...}``
templates, heredocs), comments, and nested blocks (``validation { ... }``,
skipped). Attribute values are kept as source text; descriptions must be
string literals (or heredocs) and are decoded. No dependency beyond the
standard library, so it runs before any virtual environment exists.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"


class HclError(ValueError):
    """The file is not HCL this reader understands; the message gives the line."""


@dataclass
class Block:
    """A block: ``type "label" ... { attributes; nested blocks }``, attributes as source text."""

    type: str
    labels: list[str]
    attributes: dict[str, str] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    line: int = 0


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)\n")


class _Reader:
    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.pos = 0

    # --- low level ---

    def error(self, message: str) -> HclError:
        line = self.text.count("\n", 0, self.pos) + 1
        return HclError(f"{self.name}:{line}: {message}")

    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip_space(self, newlines: bool = True) -> None:
        """Skip blanks and comments (and newlines, unless ``newlines`` is False)."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#" or self.peek(2) == "//":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif self.peek(2) == "/*":
                end = self.text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated /* comment")
                self.pos = end + 2
            else:
                return

    def identifier(self) -> str:
        match = _IDENT.match(self.text, self.pos)
        if not match:
            raise self.error(f"expected a name, found {self.peek(10)!r}")
        self.pos = match.end()
        return match.group()

    # --- strings and expressions ---

    def string(self) -> str:
        """Consume a quoted string (with ``${...}`` templates); return its source text."""
        start = self.pos
        self.pos += 1  # opening quote
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
            elif char == '"':
                self.pos += 1
                return self.text[start : self.pos]
            elif char == "\n":
                raise self.error("newline in a quoted string")
            elif self.peek(3) in ("$${", "%%{"):
                self.pos += 3
            elif self.peek(2) in ("${", "%{"):
                self.pos += 2
                self.expression(closing="}")
                self.pos += 1
            else:
                self.pos += 1
        raise self.error("unterminated string")

    def heredoc(self) -> str:
        match = _HEREDOC.match(self.text, self.pos)
        if not match:
            raise self.error("bad heredoc")
        marker = match.group(2)
        end = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.MULTILINE).search(self.text, match.end())
        if not end:
            raise self.error(f"unterminated heredoc {marker}")
        start, self.pos = self.pos, end.end()
        return self.text[start : self.pos]

    def expression(self, closing: str | None = None) -> str:
        """Consume an expression up to a newline at bracket depth 0 (or ``closing``)."""
        start = self.pos
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.string()
            elif char == "<" and _HEREDOC.match(self.text, self.pos):
                self.heredoc()
            elif char == "#" or self.peek(2) in ("//", "/*"):
                if depth == 0 and closing is None and self.peek(2) != "/*":
                    break
                self.skip_space(newlines=depth > 0)
            elif char in "([{":
                depth += 1
                self.pos += 1
            elif char in ")]}":
                if depth == 0:
                    if closing is not None and char == closing:
                        break
                    if closing is None and char == "}":
                        break  # end of the enclosing block
                    raise self.error(f"unbalanced {char!r}")
                depth -= 1
                self.pos += 1
            elif char == "\n" and depth == 0 and closing is None:
                break
            else:
                self.pos += 1
        return self.text[start : self.pos].strip()

    # --- structure ---

    def body(self, top: bool) -> tuple[dict[str, str], list[Block]]:
        attributes: dict[str, str] = {}
        blocks: list[Block] = []
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                if top:
                    return attributes, blocks
                raise self.error("missing '}'")
            if self.peek() == "}":
                if top:
                    raise self.error("unexpected '}'")
                self.pos += 1
                return attributes, blocks
            line = self.line()
            name = self.identifier()
            self.skip_space(newlines=False)
            if self.peek() == "=" and self.peek(2) != "==":
                self.pos += 1
                self.skip_space(newlines=False)
                attributes[name] = self.expression()
                continue
            labels = []
            while self.peek() == '"':
                labels.append(json.loads(self.string()))
                self.skip_space(newlines=False)
            if self.peek() != "{":
                raise self.error(f"expected '=' or '{{' after {name!r}")
            self.pos += 1
            block_attributes, nested = self.body(top=False)
            blocks.append(Block(name, labels, block_attributes, nested, line))


def parse(text: str, name: str = "<hcl>") -> list[Block]:
    """Parse HCL source into its top-level blocks. Raises HclError with a line number."""
    _, blocks = _Reader(text, name).body(top=True)
    return blocks


def string_value(source: str) -> str:
    """Decode an HCL string literal or heredoc (source text) into its value.

    Raises HclError for anything else (a description must be a literal).
    """
    source = source.strip()
    match = _HEREDOC.match(source + "\n") if source.startswith("<<") else None
    if match:
        lines = source.split("\n")[1:-1]
        if match.group(1):  # <<- strips the common indentation
            indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
            lines = [x[indent:] for x in lines]
        return "\n".join(lines)
    if not (source.startswith('"') and source.endswith('"')):
        raise HclError(f"not a string literal: {source[:40]!r}")
    try:
        value = json.loads(source.replace("\\$", "$"))
    except json.JSONDecodeError as exc:
        raise HclError(f"cannot decode string {source[:40]!r}: {exc}") from None
    return value.replace("$${", "${").replace("%%{", "%{")


# --- the tables ---


@dataclass(frozen=True)
class Input:
    name: str
    type: str
    description: str
    default: str | None  # source text; None when required
    sensitive: bool


@dataclass(frozen=True)
class Output:
    name: str
    description: str
    sensitive: bool


def read_inputs(path: Path) -> list[Input]:
    inputs = []
    for block in parse(path.read_text(encoding="utf-8"), path.name):
        if block.type != "variable":
            continue
        attrs = block.attributes
        if "description" not in attrs:
            raise HclError(f"{path.name}:{block.line}: variable {block.labels[0]} has no description")
        inputs.append(
            Input(
                name=block.labels[0],
                type=attrs.get("type", "any"),
                description=string_value(attrs["description"]),
                default=attrs.get("default"),
                sensitive=attrs.get("sensitive") == "true",
            )
        )
    return inputs


def read_outputs(path: Path) -> list[Output]:
    outputs = []
    for block in parse(path.read_text(encoding="utf-8"), path.name):
        if block.type != "output":
            continue
        if "description" not in block.attributes:
            raise HclError(f"{path.name}:{block.line}: output {block.labels[0]} has no description")
        outputs.append(
            Output(
                name=block.labels[0],
                description=string_value(block.attributes["description"]),
                sensitive=block.attributes.get("sensitive") == "true",
            )
        )
    return outputs


def read_requirements(path: Path) -> dict[str, str]:
    """``{"terraform": ">= 1.3.0", "hashicorp/aws": ">= 3.39"}`` from versions.tf."""
    requirements = {}
    for block in parse(path.read_text(encoding="utf-8"), path.name):
        if block.type != "terraform":
            continue
        if "required_version" in block.attributes:
            requirements["terraform"] = string_value(block.attributes["required_version"])
        for nested in block.blocks:
            if nested.type == "required_providers":
                for expression in nested.attributes.values():
                    fields = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', expression))
                    requirements[fields["source"]] = fields.get("version", "any")
    return requirements


_MARKDOWN_ESCAPES = str.maketrans({"|": "\\|", "*": "\\*", "<": "&lt;", ">": "&gt;"})


def _cell(text: str) -> str:
    """Text for one Markdown table cell: one line; pipes, asterisks and angle brackets escaped."""
    return " ".join(text.split()).translate(_MARKDOWN_ESCAPES)


def _code(text: str) -> str:
    text = " ".join(text.split())
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def render(root: Path = ROOT) -> str:
    """The Markdown that goes between the markers (without them)."""
    requirements = read_requirements(root / "versions.tf")
    lines = ["## Requirements", "", "| Name | Version |", "| --- | --- |"]
    lines += [f"| {name} | `{version}` |" for name, version in requirements.items()]
    lines += [
        "",
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "| --- | --- | --- | --- | :---: |",
    ]
    for item in read_inputs(root / "variables.tf"):
        description = item.description + (" (sensitive)" if item.sensitive else "")
        default = "n/a" if item.default is None else _code(item.default)
        required = "yes" if item.default is None else "no"
        lines.append(
            f"| `{item.name}` | {_cell(description)} | {_code(item.type)} | {default} | {required} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "| --- | --- |"]
    for output in read_outputs(root / "outputs.tf"):
        description = output.description + (" (sensitive)" if output.sensitive else "")
        lines.append(f"| `{output.name}` | {_cell(description)} |")
    return "\n".join(lines) + "\n"


def splice(readme: str, generated: str) -> str:
    """Replace what lies between the markers of ``readme`` with ``generated``.

    Raises ValueError unless each marker appears exactly once, BEGIN first.
    """
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise ValueError(f"README.md must contain {BEGIN} and then {END}, once each")
    head, rest = readme.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def main(argv: list[str]) -> int:
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    updated = splice(readme, render(ROOT))
    if "--check" in argv[1:]:
        if updated != readme:
            print("README.md inputs/outputs tables are out of date: run `make docs`", file=sys.stderr)
            return 1
        print("README.md inputs/outputs tables are up to date")
        return 0
    if updated != readme:
        # Re-read just before writing: others may edit other sections of the README meanwhile.
        current = readme_path.read_text(encoding="utf-8")
        readme_path.write_text(splice(current, render(ROOT)), encoding="utf-8")
        print("README.md: inputs/outputs tables updated")
    else:
        print("README.md: inputs/outputs tables already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
