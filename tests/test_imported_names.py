"""Definitions other workspace files import are put back when a whole-file reply drops them
(copilot/experiment/imported_names.py). The rewrite-agent test uses a scripted LLM: its reply is canned test input,
modelled on the real suite's mcts-implement, where each rewrite of mcts.py dropped the MCTS class that the read-only
test_mcts.py imports."""

from __future__ import annotations

import subprocess
import sys

from copilot.experiment.imported_names import (
    imported_names,
    keep_imported_definitions,
    module_names,
    workspace_sources,
)
from tests.test_rewrite_agent import fenced

OLD = '''"""Search."""
import math


class Node:
    def __init__(self, state):
        self.state = state


@staticmethod
def helper():
    return 1


class MCTS:
    def __init__(self, n=10):
        self.n = n


C_PUCT = 1.4

if __name__ == "__main__":
    print(Node(0).state)
'''

NEW = '''"""Search."""
import math


class Node:
    def __init__(self, state):
        self.state = state
        self.visits = 0

if __name__ == "__main__":
    print(Node(0).visits)
'''


def test_the_names_other_files_import_from_a_module_in_either_form():
    sources = [("test_mcts.py", "from mcts import Node, MCTS\nfrom other import MCTS as M\n"),
               ("run.py", "import mcts as m\nprint(m.C_PUCT, m.Node)\n"),
               ("broken.py", "def (:\n"), ("star.py", "from mcts import *\n")]
    assert imported_names(module_names("mcts.py"), sources) == {"Node": "test_mcts.py", "MCTS": "test_mcts.py",
                                                                "C_PUCT": "run.py"}
    assert module_names("src/pkg/mcts.py") == {"src.pkg.mcts", "mcts"}


def test_dropped_definitions_another_file_imports_go_back_before_the_main_block():
    merged, kept = keep_imported_definitions(OLD, NEW, {"Node": "t.py", "MCTS": "t.py", "C_PUCT": "t.py",
                                                        "math": "t.py", "helper": "t.py"})
    assert kept == ["MCTS", "C_PUCT", "helper"]  # in the order the importers name them; `math` is an import
    assert "self.visits = 0" in merged  # the reply's own change stays
    assert merged.index("class MCTS") < merged.index('if __name__ == "__main__"')
    assert "@staticmethod\ndef helper" in merged  # with its decorator
    namespace: dict = {}
    exec(compile(merged, "mcts.py", "exec"), namespace)
    assert namespace["MCTS"](n=3).n == 3 and namespace["C_PUCT"] == 1.4


def test_nothing_changes_when_nothing_imported_was_dropped_or_a_version_does_not_parse():
    assert keep_imported_definitions(OLD, NEW, {"Node": "t.py"}) == (NEW, [])
    assert keep_imported_definitions(OLD, NEW, {}) == (NEW, [])
    assert keep_imported_definitions(OLD, "def (:\n", {"MCTS": "t.py"}) == ("def (:\n", [])
    # a name that neither version defines (the importer's own mistake) is not invented
    assert keep_imported_definitions(OLD, NEW, {"Missing": "t.py"}) == (NEW, [])


def test_workspace_sources_leave_out_the_script_and_hidden_folders(tmp_path):
    (tmp_path / "mcts.py").write_text("x = 1\n")
    (tmp_path / "test_mcts.py").write_text("from mcts import x\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text("import mcts\n")
    assert workspace_sources(tmp_path, "mcts.py") == [("test_mcts.py", "from mcts import x\n")]


def test_a_rewrite_that_drops_an_imported_class_is_written_with_it_and_says_so(tmp_path):
    """Scripted LLM: the reply rewrites mcts.py without its MCTS class; the file written keeps it, the read-only
    test's import works, and the episode's summary says what was put back."""
    from copilot.coach.small import RuleCoach
    from copilot.experiment.agent import AgentConfig
    from copilot.experiment.rewrite import RewriteAgent
    from copilot.experiment.tools import ToolBox
    from copilot.experiment.workspace import Workspace
    from copilot.llm.client import LLM
    from copilot.rundir import JsonlWriter
    from copilot.sandbox.local import LocalSandbox
    from tests.conftest import ScriptedBackend

    source = tmp_path / "src"
    source.mkdir()
    (source / "mcts.py").write_text(OLD)
    (source / "test_mcts.py").write_text("from mcts import Node, MCTS\nassert MCTS(n=2).n == 2\nprint('ok')\n")
    workspace = Workspace.create(source, tmp_path / "run" / "workspace", ["test_mcts.py"], tmp_path / "run" / "t")
    llm = LLM(ScriptedBackend([fenced(NEW, "Counted visits.")]))
    coach = RuleCoach()
    box = ToolBox(workspace, sandbox=LocalSandbox(), llm=llm, run_timeout_s=20, coach=coach)
    agent = RewriteAgent(llm, box, AgentConfig(), script="mcts.py", run_command="python mcts.py",
                         trace=JsonlWriter(tmp_path / "trace.jsonl"), coach=coach)
    result = agent.run("# Task\nCount visits.")
    assert result.status == "final"
    assert "put back MCTS, which test_mcts.py imports" in result.summary
    written = (workspace.root / "mcts.py").read_text()
    assert "self.visits = 0" in written and "class MCTS" in written and "C_PUCT" not in written
    check = subprocess.run([sys.executable, "test_mcts.py"], cwd=workspace.root, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == "ok", check.stderr
