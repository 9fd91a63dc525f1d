"""The README's inputs/outputs tables match variables.tf and outputs.tf (tools/tfdocs.py)."""

from __future__ import annotations

import re

import pytest

from tools import tfdocs


def test_readme_tables_match_variables_and_outputs() -> None:
    readme = (tfdocs.ROOT / "README.md").read_text(encoding="utf-8")
    assert tfdocs.splice(readme, tfdocs.render()) == readme, (
        "README.md tables are out of date: run `make docs`"
    )


def test_every_variable_and_output_is_documented_in_the_readme() -> None:
    readme = (tfdocs.ROOT / "README.md").read_text(encoding="utf-8")
    names = [i.name for i in tfdocs.read_inputs(tfdocs.ROOT / "variables.tf")]
    names += [o.name for o in tfdocs.read_outputs(tfdocs.ROOT / "outputs.tf")]
    for name in names:
        assert f"| `{name}` |" in readme


def test_contract_inputs_have_the_documented_defaults() -> None:
    """docs/DESIGN.md section 3: these names, types and defaults are a contract."""
    inputs = {i.name: i for i in tfdocs.read_inputs(tfdocs.ROOT / "variables.tf")}
    expected = {
        "bucket_name": ("string", None),
        "alert_webhook_url": ("string", None),
        "stale_after_minutes": ("number", "15"),
        "check_schedule_expression": ("string", '"rate(1 minute)"'),
        "name_prefix": ("string", '"pulse-echo"'),
        "tags": ("map(string)", "{}"),
    }
    for name, (type_, default) in expected.items():
        assert (inputs[name].type, inputs[name].default) == (type_, default), name
    assert inputs["alert_webhook_url"].sensitive
    # "python3.12", or a newer runtime AWS and the tested provider accept.
    runtime = inputs["lambda_runtime"]
    assert runtime.type == "string"
    assert re.fullmatch(r'"python3\.(1[2-9]|[2-9][0-9])"', runtime.default or ""), runtime.default
    outputs = {o.name for o in tfdocs.read_outputs(tfdocs.ROOT / "outputs.tf")}
    assert {
        "bucket_name",
        "bucket_arn",
        "check_echo_function_name",
        "check_echo_function_arn",
        "check_result_function_name",
        "check_result_function_arn",
        "schedule_rule_name",
        "pulse_writer_policy_json",
    } <= outputs


HCL = r"""
# a comment
variable "plain" {
  type        = string
  description = "Says \"hi\" | with a pipe, a <tag>, pulse/* and $${literal}"
  default     = "x" # trailing comment
}

/* a block
   comment */
variable "multi_line_default" {
  type = map(object({
    a = string
  }))
  description = <<-EOT
    First line.
      Indented.
  EOT
  default = {
    one = { a = "b}" }
  }
  validation {
    condition     = length(var.multi_line_default) > 0 && can(regex("^[a-z]{1,3}$", "abc"))
    error_message = "Braces { in } strings and ${"templates"} are fine."
  }
}

variable "required" {
  type        = number
  description = "No default."
  sensitive   = true
}

output "out" {
  description = "An output."
  value       = { for k, v in var.multi_line_default : k => "${v.a}-${k}" }
  sensitive   = true
}
"""


def test_parser_reads_attributes_heredocs_templates_and_skips_nested_blocks() -> None:
    blocks = tfdocs.parse(HCL, "test.tf")
    assert [(b.type, b.labels) for b in blocks] == [
        ("variable", ["plain"]),
        ("variable", ["multi_line_default"]),
        ("variable", ["required"]),
        ("output", ["out"]),
    ]
    plain, multi, required, out = blocks
    assert tfdocs.string_value(plain.attributes["description"]) == (
        'Says "hi" | with a pipe, a <tag>, pulse/* and ${literal}'
    )
    assert plain.attributes["default"] == '"x"'
    assert tfdocs.string_value(multi.attributes["description"]) == "First line.\n  Indented."
    assert " ".join(multi.attributes["default"].split()) == '{ one = { a = "b}" } }'
    assert " ".join(multi.attributes["type"].split()) == "map(object({ a = string }))"
    assert [b.type for b in multi.blocks] == ["validation"]
    assert "default" not in required.attributes
    assert required.attributes["sensitive"] == "true"
    assert out.attributes["value"].startswith("{ for k, v in")


def test_tables_escape_markdown_and_mark_required_and_sensitive(tmp_path: pytest.TempPathFactory) -> None:
    (tmp_path / "variables.tf").write_text(HCL, encoding="utf-8")
    (tmp_path / "outputs.tf").write_text(HCL, encoding="utf-8")
    (tmp_path / "versions.tf").write_text(
        'terraform {\n  required_version = ">= 1.3.0"\n  required_providers {\n'
        '    aws = {\n      source  = "hashicorp/aws"\n      version = ">= 3.39"\n    }\n  }\n}\n',
        encoding="utf-8",
    )
    text = tfdocs.render(tmp_path)
    assert "| hashicorp/aws | `>= 3.39` |" in text
    description = 'Says "hi" \\| with a pipe, a &lt;tag&gt;, pulse/\\* and ${literal}'
    assert f'| `plain` | {description} | `string` | `"x"` | no |' in text
    assert '`{ one = { a = "b}" } }`' in text
    assert "| `required` | No default. (sensitive) | `number` | n/a | yes |" in text
    assert "| `out` | An output. (sensitive) |" in text


def test_splice_replaces_only_between_the_markers() -> None:
    readme = f"top\n{tfdocs.BEGIN}\nold\n{tfdocs.END}\nbottom\n"
    assert tfdocs.splice(readme, "new\n") == f"top\n{tfdocs.BEGIN}\nnew\n{tfdocs.END}\nbottom\n"
    with pytest.raises(ValueError, match="must contain"):
        tfdocs.splice("no markers", "new\n")


def test_parse_errors_name_the_line() -> None:
    with pytest.raises(tfdocs.HclError, match=r"bad\.tf:3: newline in a quoted string"):
        tfdocs.parse('variable "x" {\n  type = string\n  description = "oops\n}\n', "bad.tf")
