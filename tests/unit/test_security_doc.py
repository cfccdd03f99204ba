"""docs/security.md names, for each guarantee, the test that shows it: every one it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")


def test_every_test_file_the_security_page_names_exists():
    """A guarantee is only as good as the test that shows it: no file named there is missing."""
    files = set(re.findall(r"`(tests/[\w/]+\.py)`", DOC))
    assert files, "the page names no test file"
    assert sorted(f for f in files if not (ROOT / f).is_file()) == []


def test_every_test_function_the_security_page_names_exists():
    """Each test function named on the page is defined somewhere under tests/."""
    names = set(re.findall(r"`(test_\w+)`", DOC))
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    assert sorted(n for n in names if f"def {n}(" not in sources) == []
