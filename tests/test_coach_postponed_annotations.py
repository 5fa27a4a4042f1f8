"""Postponing annotations (the coach's `postponed_annotations` rule, copilot/coach/repairs.py), on the shape that
failed two of mcts-implement's four attempts: a method of `class Node` annotated `-> Node`. Each script is run
before and after the repair, so the test shows the NameError and that the repair removes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from copilot.coach.repairs import FUTURE_ANNOTATIONS, postpone_annotations
from copilot.coach.small import RuleCoach

SCRIPT = '''"""Monte Carlo tree search."""
import math


class Node:
    def __init__(self, parent: Node | None = None) -> None:
        self.parent = parent
        self.children: list[Node] = []

    def select(self, total_visits: int) -> Node:
        return max(self.children, key=lambda c: math.sqrt(total_visits))


print(Node().children)
'''


def run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "mcts.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)


def test_a_class_named_in_its_own_methods_annotations_runs_once_annotations_are_postponed(tmp_path: Path) -> None:
    failed = run(SCRIPT, tmp_path)
    assert failed.returncode == 1 and "NameError: name 'Node' is not defined" in failed.stderr
    repair = postpone_annotations(SCRIPT, failed.stderr, "mcts.py")
    assert repair is not None and "Node" in repair.description
    assert repair.code.splitlines()[:2] == ['"""Monte Carlo tree search."""', FUTURE_ANNOTATIONS]
    assert repair.code.endswith(SCRIPT.split('"""\n', 2)[-1])
    fixed = run(repair.code, tmp_path)
    assert fixed.returncode == 0 and fixed.stdout.strip() == "[]"


def test_the_future_import_goes_after_leading_comments_when_there_is_no_docstring(tmp_path: Path) -> None:
    code = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n" + SCRIPT.split('"""\n', 2)[-1]
    failed = run(code, tmp_path)
    repair = postpone_annotations(code, failed.stderr, "mcts.py")
    assert repair is not None and repair.code.splitlines()[2] == FUTURE_ANNOTATIONS
    assert run(repair.code, tmp_path).returncode == 0


def test_it_does_not_fire_on_a_name_bound_nowhere_outside_annotations_or_with_annotations_postponed() -> None:
    error = ('Traceback (most recent call last):\n  File "/w/mcts.py", line {line}, in <module>\n'
             "NameError: name '{name}' is not defined")
    missing = "def f(x: Tree) -> int:\n    return 1\n"  # Tree is bound nowhere: an import problem, not this one
    assert postpone_annotations(missing, error.format(line=1, name="Tree"), "mcts.py") is None
    late = "print(Node)\n\nclass Node:\n    pass\n"  # used before its definition, in code: ordering, not annotations
    assert postpone_annotations(late, error.format(line=1, name="Node"), "mcts.py") is None
    done = FUTURE_ANNOTATIONS + "\n" + SCRIPT
    assert postpone_annotations(done, error.format(line=11, name="Node"), "mcts.py") is None
    assert postpone_annotations(SCRIPT, "ValueError: bad", "mcts.py") is None
    assert postpone_annotations("def f(:\n", error.format(line=1, name="Node"), "mcts.py") is None


def test_the_rule_is_loaded_by_default_and_names_its_repair() -> None:
    assert "postponed_annotations" in {rule.name for rule in RuleCoach().rules}
