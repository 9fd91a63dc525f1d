"""The README and the manual in docs/: links that resolve, a short front door, copies that stay copies.

- every relative link in README.md and docs/*.md names a file or directory
  that exists, and a ``#anchor`` names a heading of the Markdown file it
  points to (GitHub's heading ids);
- every page of docs/ is linked from the README;
- the README stays at most 300 lines (the manual lives in docs/);
- the output the README shows (``text`` and ``console`` blocks) is a copy of a
  block of docs/, where the tests of the code that prints it keep it real; its
  cron line is the one shipped in scripts/examples/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 300

FENCE = re.compile(r"^(```+|~~~+)\s*(\S*)")
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")


@dataclass(frozen=True)
class Block:
    """A fenced code block: its info string's first word (``""`` if none) and its text."""

    lang: str
    text: str


def split_markdown(text: str) -> tuple[list[str], list[Block]]:
    """The lines outside fenced code blocks, and the fenced blocks themselves."""
    prose: list[str] = []
    blocks: list[Block] = []
    fence: str | None = None
    lang, body = "", []
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence, lang, body = match.group(1), match.group(2), []
        elif fence is not None and line.strip() == fence:
            blocks.append(Block(lang, "".join(f"{b}\n" for b in body)))
            fence = None
        elif fence is not None:
            body.append(line)
        else:
            prose.append(line)
    assert fence is None, "a fenced code block is never closed"
    return prose, blocks


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens.

    Follows github-slugger (which github.com uses): Markdown code spans and
    link syntax keep only their text; letters, digits, ``_``, ``-`` and
    spaces are kept.
    """
    text = INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading id of a Markdown file, duplicates numbered as GitHub does (``x``, ``x-1``)."""
    prose, _ = split_markdown(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    ids = set()
    for line in prose:
        match = HEADING.match(line)
        if not match:
            continue
        anchor = github_anchor(match.group(2))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        ids.add(anchor if count == 0 else f"{anchor}-{count}")
    return ids


def relative_links(path: Path) -> list[str]:
    """The targets of the Markdown links of a file that point inside the repository."""
    prose, _ = split_markdown(path.read_text(encoding="utf-8"))
    targets = []
    for line in prose:
        line = INLINE_CODE.sub("", line)
        for target in LINK.findall(line):
            if not re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                targets.append(target)
    return targets


def broken(path: Path, target: str, root: Path = ROOT) -> str | None:
    """Why the link ``target`` in ``path`` does not resolve, or None when it does."""
    file_part, _, anchor = target.partition("#")
    destination = (path.parent / file_part).resolve() if file_part else path
    if not destination.exists():
        return f"{target}: no such file"
    if root not in destination.parents and destination != root:
        return f"{target}: outside the repository"
    if anchor:
        if destination.suffix != ".md":
            return f"{target}: an anchor into a file that is not Markdown"
        if anchor not in anchors(destination):
            return f"{target}: no heading with that id in {destination.name}"
    return None


PAGES = [README, *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [problem for t in relative_links(page) if (problem := broken(page, t))]
    assert problems == [], f"{page.relative_to(ROOT)}: broken links:\n" + "\n".join(problems)


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in relative_links(README)}
    orphans = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert orphans == [], f"docs pages the README does not link: {orphans}"


def test_readme_is_a_front_door_of_at_most_300_lines() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move the manual into docs/"


def test_output_shown_in_the_readme_is_a_copy_of_tested_output_in_docs() -> None:
    _, readme_blocks = split_markdown(README.read_text(encoding="utf-8"))
    shown = [b for b in readme_blocks if b.lang in ("text", "console")]
    assert shown, "the README shows no output: the test would check nothing"
    documented = {b for page in DOCS.glob("*.md") for b in split_markdown(page.read_text("utf-8"))[1]}
    for block in shown:
        assert block in documented, f"README block is not a copy of a block in docs/:\n{block.text}"


def test_readme_cron_line_is_the_shipped_one() -> None:
    _, blocks = split_markdown(README.read_text(encoding="utf-8"))
    cron = [b for b in blocks if b.lang == "cron"]
    assert len(cron) == 1
    shipped = (ROOT / "scripts" / "examples" / "send-pulse.cron").read_text(encoding="utf-8").splitlines()
    for line in cron[0].text.splitlines():
        assert line in shipped, line


# --- the checker itself ---


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Delivery: at least once, no duplicates", "delivery-at-least-once-no-duplicates"),
        ("See every host: `pulse-status`", "see-every-host-pulse-status"),
        ("4. Offline toolchain", "4-offline-toolchain"),
        ("2b. The pulse, version 2 (contract)", "2b-the-pulse-version-2-contract"),
        ("How many hosts?", "how-many-hosts"),
        ("Sending pulses with `send-pulse` — à la carte", "sending-pulses-with-send-pulse--à-la-carte"),
    ],
)
def test_anchors_follow_github(heading: str, anchor: str) -> None:
    assert github_anchor(heading) == anchor


def test_checker_finds_missing_files_and_anchors_and_skips_code(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "outside.md").write_text("# Outside\n", encoding="utf-8")
    (root / "other.md").write_text("# Title\n\n## Part\n\n## Part\n", encoding="utf-8")
    page = root / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md#part-1) [self](#page) [web](https://example.com/x) `[code](nope.md)`\n"
        "[gone](missing.md) [bad anchor](other.md#nope) [away](../outside.md)\n"
        "```\n[in a block](nope.md)\n# not a heading\n```\n",
        encoding="utf-8",
    )
    targets = relative_links(page)
    assert targets == ["other.md#part-1", "#page", "missing.md", "other.md#nope", "../outside.md"]
    assert [broken(page, t, root) for t in targets] == [
        None,
        None,
        "missing.md: no such file",
        "other.md#nope: no heading with that id in other.md",
        "../outside.md: outside the repository",
    ]
    assert anchors(page) == {"page"}
    assert anchors(root / "other.md") == {"title", "part", "part-1"}
