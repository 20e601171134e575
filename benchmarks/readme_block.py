"""The README's generated blocks: a benchmark's `--readme` replaces the text between its two
markers with what it renders from its JSON, so no figure there is typed by hand (tests/test_readme.py
renders each block again and compares)."""

from __future__ import annotations

from pathlib import Path


def rewrite_block(readme: Path, begin: str, end: str, text: str) -> None:
    """Replace what lies between the markers `begin` and `end` with a newline and `text`."""
    doc = readme.read_text()
    start, stop = doc.index(begin) + len(begin), doc.index(end)
    readme.write_text(doc[:start] + "\n" + text + doc[stop:])
