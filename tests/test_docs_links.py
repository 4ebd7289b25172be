"""Every relative link in README.md and docs/ leads somewhere: the file exists and, when the
link names a heading (`page.md#heading`), the page has that heading."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").rglob("*.md")])
PARSER = MarkdownIt("commonmark").enable("table")

HISTORY = ROOT / "docs" / "performance"
"""Dated notes, kept as written: the paths they name are those of their day."""


def _walk(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from _walk(token.children or [])


def links(page: Path) -> Iterator[str]:
    for token in _walk(PARSER.parse(page.read_text(encoding="utf-8"))):
        if token.type == "link_open":
            yield str(token.attrs["href"])


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    tokens = PARSER.parse(page.read_text(encoding="utf-8"))
    return {
        slug(tokens[i + 1].content)
        for i, token in enumerate(tokens)
        if token.type == "heading_open"
    }


def relative_links() -> Iterator[tuple[Path, str]]:
    for page in PAGES:
        for href in links(page):
            if not urlsplit(href).scheme and not href.startswith("//"):
                yield page, href


@pytest.mark.parametrize(
    ("page", "href"),
    [pytest.param(p, h, id=f"{p.relative_to(ROOT)}:{h}") for p, h in relative_links()],
)
def test_relative_link_resolves(page: Path, href: str) -> None:
    parts = urlsplit(href)
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    name = target.relative_to(ROOT).as_posix() if target.is_relative_to(ROOT) else str(target)
    assert target.exists(), f"{page.relative_to(ROOT)} links to {href}: no such file"
    if parts.fragment and target.suffix == ".md":
        assert parts.fragment in anchors(target), (
            f"{page.relative_to(ROOT)} links to {href}: {name} has no heading #{parts.fragment}"
        )


def test_the_pages_have_links_to_check() -> None:
    """The parser finds links at all (a parser change must not turn this file green)."""
    readme = dict.fromkeys(h for p, h in relative_links() if p.name == "README.md")
    assert "docs/architecture.md" in readme and "docs/operations.md" in readme


def test_the_slug_follows_github() -> None:
    assert slug("The Kafka corner: the transport's guards") == (
        "the-kafka-corner-the-transports-guards"
    )
    assert slug("`j9262 validate` and exit codes") == "j9262-validate-and-exit-codes"


def test_the_readme_stays_short() -> None:
    """The README is the front door; detail belongs in docs/."""
    assert (ROOT / "README.md").stat().st_size < 10_000


def test_named_test_files_exist() -> None:
    """The docs cite tests as evidence (guarantees, ADRs); a moved test must not leave them
    pointing nowhere. Dated notes under docs/performance/ keep the paths of their day."""
    pages = [p for p in [*PAGES, ROOT / "BENCHMARKS.md"] if not p.is_relative_to(HISTORY)]
    cited = {
        (page.relative_to(ROOT).as_posix(), path)
        for page in pages
        for path in re.findall(r"tests/[\w/]+\.py", page.read_text(encoding="utf-8"))
    }
    assert cited, "no page cites a test file: the pattern no longer matches"
    missing = sorted(f"{page}: {path}" for page, path in cited if not (ROOT / path).exists())
    assert not missing, "\n".join(missing)
