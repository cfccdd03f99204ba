"""A user's own script that calls ``verify`` runs once, main guard or none: the child processes that answer
verify's whole-log questions (gsomia.store.scanproc) never import the script again. Under
``multiprocessing``'s ``spawn`` each child would re-import it as ``__mp_main__`` and run its top-level code
(here: a line added to a file; in a user's script, releases or writes) once more per child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gsomia.bootstrap import build, create_node
from tests.contract.test_tamper_evidence import EXAMPLES

# No ``if __name__ == "__main__":`` on purpose. It counts its runs in a file, has verify's questions go to
# child processes however short the log, and prints what the children answered ("FAILED": nothing).
SCRIPT = """\
import json
import sys
from pathlib import Path

from gsomia.bootstrap import build
from gsomia.config import Settings
from gsomia.store import scanproc

node_dir, runs = sys.argv[1], Path(sys.argv[2])
with runs.open("a") as out:
    out.write("ran\\n")

scanproc.APART_FROM_LEAVES = 0
asked = []
ask = scanproc.ChildScan.ask


def counted(self, question, *args):
    answer = ask(self, question, *args)
    asked.append("FAILED" if answer is scanproc.FAILED else question)
    return answer


scanproc.ChildScan.ask = counted
services = build(Settings.load(node_dir))
try:
    report = services.audit.verify()
finally:
    services.close()
print(json.dumps({"ok": report.ok, "leaves": report.leaves, "asked": sorted(asked)}))
"""


def _node(node_dir: Path) -> int:
    """A KOR node (settings file, keys, SQLite database) with the examples world and one item; its log's
    size."""
    services = build(create_node(node_dir, party="KOR"))
    try:
        services.import_world(EXAMPLES)
        services.items.add_item("K-B1", "KOR", "KR-II", ["dprk-missile"], body=b"body one")
        services.releases.release("K-B1", "JPN", "2019-10-01")
        return services.audit.head().size
    finally:
        services.close()


def test_a_script_without_a_main_guard_runs_once_while_children_answer_its_verify(tmp_path: Path) -> None:
    size = _node(tmp_path / "node")
    script, runs = tmp_path / "user_script.py", tmp_path / "runs.txt"
    script.write_text(SCRIPT)
    env = {name: value for name, value in os.environ.items() if not name.startswith("GSOMIA_")}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "node"), str(runs)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert runs.read_text() == "ran\n"  # the script's top level ran once: in no child
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said == {"ok": True, "leaves": size, "asked": ["records_match_leaves", "tree_levels"]}
