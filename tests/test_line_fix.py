"""The line fix (copilot/experiment/line_fix.py): the window around a failing line and the splicing of a corrected
part of it back into the file. Pure functions; the replies here are written by hand."""

from __future__ import annotations

from copilot.experiment.line_fix import error_excerpt, failing_window, import_lines, reply_lines, splice

SCRIPT = "\n".join([
    '"""Gradient boosting."""',          # 1
    "import numpy as np",                # 2
    "from sklearn.metrics import mean_squared_error",  # 3
    "",                                  # 4
    "scores = np.zeros(3)",              # 5
    "for i, y_pred in enumerate(preds):",  # 6
    "    scores[i] = reg.loss_(y, y_pred)",  # 7
    "",                                  # 8
    "# plot",                            # 9
    "print(scores)",                     # 10
]) + "\n"
TRACEBACK = ('Traceback (most recent call last):\n  File "/run/a001/workspace/train.py", line 7, in <module>\n'
             "    scores[i] = reg.loss_(y, y_pred)\nAttributeError: 'GradientBoostingRegressor' object has no "
             "attribute 'loss_'. Did you mean: 'loss'?")


def test_the_window_is_around_the_last_line_of_the_script_the_traceback_names():
    window = failing_window(SCRIPT, TRACEBACK, "train.py", radius=2)
    assert (window.start, window.end, window.failing) == (5, 9, 7)
    assert window.lines[2] == "    scores[i] = reg.loss_(y, y_pred)"
    library = TRACEBACK + '\n  File "/usr/lib/python3/site-packages/sklearn/base.py", line 900, in fit'
    assert failing_window(SCRIPT, library, "train.py", radius=2).failing == 7  # the script's line, not the library's
    assert failing_window(SCRIPT, "Killed", "train.py") is None
    assert failing_window(SCRIPT, TRACEBACK.replace("line 7", "line 70"), "train.py") is None
    assert failing_window(SCRIPT, TRACEBACK, "solver.py") is None


def test_a_reply_of_fewer_lines_than_the_window_replaces_only_what_it_covers():
    window = failing_window(SCRIPT, TRACEBACK, "train.py", radius=3)  # lines 4-10
    reply = ("scores = np.zeros(3)\nfor i, y_pred in enumerate(preds):\n"
             "    scores[i] = mean_squared_error(y, y_pred)\n")
    fixed = splice(SCRIPT, window, reply)
    assert fixed == SCRIPT.replace("reg.loss_(y, y_pred)", "mean_squared_error(y, y_pred)")


def test_a_reply_that_lost_the_indentation_is_indented_like_the_window():
    window = failing_window(SCRIPT, TRACEBACK, "train.py", radius=0)  # line 7 alone
    fixed = splice(SCRIPT, window, "scores[i] = mean_squared_error(y, y_pred)\n")
    assert "\n    scores[i] = mean_squared_error(y, y_pred)\n" in fixed


def test_a_reply_that_cannot_be_placed_or_does_not_parse_is_refused():
    window = failing_window(SCRIPT, TRACEBACK, "train.py", radius=2)  # five lines
    assert splice(SCRIPT, window, "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\nh = 8\n") is None  # no anchor
    assert splice(SCRIPT, window, "for i, y_pred in enumerate(preds):\n    scores[i] = (\n") is None  # cut
    assert splice(SCRIPT, window, "\n\n") is None
    whole = "a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"  # no anchor, but exactly the window's length: replaces it
    assert splice(SCRIPT, window, whole).splitlines()[4:9] == whole.splitlines()


def test_the_excerpt_and_the_imports_the_fix_prompt_shows():
    assert error_excerpt("## Fix this\nexperiment ended: exit 1\n" + TRACEBACK).startswith("Traceback")
    assert error_excerpt("x" * 5000) == "x" * 1500
    assert import_lines(SCRIPT) == ["import numpy as np", "from sklearn.metrics import mean_squared_error"]


def test_the_window_never_cuts_a_statement_in_two():
    code = "import numpy as np\n\nvalues = np.zeros(3)\nx = values.sum_()\nplot(\n    values,\n    label='a',\n)\n"
    traceback = 'File "/w/train.py", line 4, in <module>\nAttributeError: no attribute sum_'
    window = failing_window(code, traceback, "train.py", radius=1)
    assert (window.start, window.end) == (3, 8), "widened to the end of the call that line 5 opens"
    assert failing_window(code.replace("x = values", "x = (values"), traceback, "train.py", radius=1).end == 5


def test_a_fix_inside_a_method_keeps_the_indentation_of_its_first_line():
    """Shaped like mcts-implement's line fixes: the window starts inside a method, on its docstring; the reply's
    first line is indented, and stripping it (as a whole-file reply is) made every such fix fail to parse."""
    code = ("class Node:\n    def uct(self, n):\n        \"\"\"The UCT value.\"\"\"\n        return 0.0\n\n"
            "    def select(self, n) -> Node:\n        \"\"\"Pick a child.\"\"\"\n        raise NotImplementedError\n")
    traceback = 'File "/w/mcts.py", line 6, in Node\nNameError: name \'Node\' is not defined'
    window = failing_window(code, traceback, "mcts.py", radius=3)
    assert window.start == 3
    reply = ("```python\n        \"\"\"The UCT value.\"\"\"\n        return 0.0\n\n"
             "    def select(self, n) -> \"Node\":\n        \"\"\"Pick a child.\"\"\"\n"
             "        raise NotImplementedError\n```\nQuoted the annotation.")
    lines = reply_lines(reply)
    assert lines.startswith("        \"\"\"The UCT value.")
    fixed = splice(code, window, lines)
    assert fixed == code.replace("-> Node:", '-> "Node":')
    assert reply_lines("no code here") is None
