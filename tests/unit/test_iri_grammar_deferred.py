"""The STIX validator loads without building the RFC 3987 IRI grammar, and checks exactly as before.

Each case runs in a fresh interpreter: the test process may have loaded ``jsonschema`` already (through
a test plugin), and then the deferral rightly does nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

VALUES = [
    "https://example.org/a?q=1#f",
    "http://例え.jp/パス?q=1#frag",
    "http://a b",
    "not an iri",
    "//relative/path",
    "mailto:someone@example.org",
    "https://x.org/a%20b",
    "http://[::1]:8600/taxii2/",
    "http://[::1/",
    "",
]


def _fresh(code: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_the_validator_loads_without_the_iri_grammar_and_leaves_no_stand_in() -> None:
    found = _fresh(
        """
        import json, sys
        from gsomia.exchange import stixcheck
        stixcheck.warm()
        loaded = "stix2validator" in sys.modules
        grammar = "rfc3987_syntax.syntax_helpers" in sys.modules
        left = "rfc3987_syntax" in sys.modules
        import rfc3987_syntax  # an ordinary import after it gets the real package
        print(json.dumps({"loaded": loaded, "grammar": grammar, "left": left,
                          "real": hasattr(rfc3987_syntax, "syntax_parser")}))
        """
    )
    assert found == {"loaded": True, "grammar": False, "left": False, "real": True}


def test_iri_formats_are_checked_by_the_real_grammar_once_asked() -> None:
    found = _fresh(
        f"""
        import json, sys
        from gsomia.exchange import stixcheck
        stixcheck.warm()
        from jsonschema import Draft202012Validator
        checker = Draft202012Validator.FORMAT_CHECKER
        values = {VALUES!r}
        deferred = [[checker.conforms(v, "iri"), checker.conforms(v, "iri-reference")] for v in values]
        built = "rfc3987_syntax.syntax_helpers" in sys.modules
        from rfc3987_syntax import is_valid_syntax
        real = [[is_valid_syntax("iri", v), is_valid_syntax("iri_reference", v)] for v in values]
        print(json.dumps({{"deferred": deferred, "real": real, "built": built}}))
        """
    )
    assert found["built"] is True  # the first IRI checked built the grammar
    assert found["deferred"] == found["real"]
    # the values are not all judged alike: the comparison above would catch a checker answering blindly
    assert {tuple(pair) for pair in found["real"]} == {(True, True), (False, False), (False, True)}  # type: ignore[union-attr]


def test_the_validators_format_checks_still_run_with_the_grammar_deferred() -> None:
    found = _fresh(
        """
        import json, sys
        from gsomia.exchange.stixcheck import stix_problems
        def url(value):
            return {"type": "bundle", "id": "bundle--6a1b5a7e-5b1f-4c2a-9a0e-1f2b3c4d5e6f", "objects": [
                {"type": "url", "spec_version": "2.1",
                 "id": "url--4c1f2a7e-5b1f-4c2a-9a0e-1f2b3c4d5e6f", "value": value}]}
        good, bad = stix_problems(url("https://example.org/a")), stix_problems(url("not a uri"))
        print(json.dumps({"good": good, "bad": bad,
                          "grammar": "rfc3987_syntax.syntax_helpers" in sys.modules}))
        """
    )
    assert not any("is not a 'uri'" in p for p in found["good"])  # type: ignore[union-attr]
    assert any("'not a uri' is not a 'uri'" in p for p in found["bad"])  # type: ignore[union-attr]
    assert found["grammar"] is False


def test_nothing_is_done_when_jsonschema_is_loaded_already() -> None:
    pytest.importorskip("rfc3987_syntax")
    found = _fresh(
        """
        import json, sys
        import jsonschema
        from gsomia.exchange import stixcheck
        before = sys.modules.get("rfc3987_syntax")
        stixcheck.defer_iri_grammar()
        print(json.dumps({"same": sys.modules.get("rfc3987_syntax") is before,
                          "real": hasattr(sys.modules.get("rfc3987_syntax"), "syntax_parser")}))
        """
    )
    assert found == {"same": True, "real": True}
