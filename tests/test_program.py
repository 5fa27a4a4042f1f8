"""Telling a new program from the old one with other comments (copilot/experiment/program.py)."""

from __future__ import annotations

from copilot.experiment.program import same_program

OLD = '''"""Baseline: one nearest neighbour."""
import numpy as np


def predict(train, test):
    """Nearest neighbour labels."""
    distances = ((test[:, None] - train[None]) ** 2).sum(-1)
    return distances.argmin(1)
'''


def test_comments_docstrings_blank_lines_and_layout_do_not_make_a_new_program():
    new = ('# Reproduce the paper: a fully convolutional network\nimport numpy as np\n\n\n'
           'def predict(train, test):\n    # Compute distances between each test sample and each training sample\n'
           '    "Add only this part of the method."\n'
           '    distances = ((test[:, None] - train[None])**2).sum(-1)\n\n    return distances.argmin(1)\n')
    assert same_program(OLD, new)
    assert same_program(OLD, OLD)


def test_a_changed_statement_value_or_string_argument_is_a_new_program():
    assert not same_program(OLD, OLD.replace("argmin(1)", "argmin(axis=1)"))
    assert not same_program(OLD, OLD.replace("** 2", "** 3"))
    assert not same_program("print('a')\n", "print('b')\n")  # a string used as a value is code
    assert not same_program(OLD, OLD + "print(predict)\n")


def test_code_that_does_not_parse_is_never_the_same_program():
    assert not same_program("x = (1\n", "x = (1\n")
    assert not same_program(OLD, "def predict(:\n")


def test_functions_classes_and_imports_added_that_nothing_uses_do_not_make_a_new_program():
    """After the embedded model's attempts on a real game-strategy task: new helpers no code calls."""
    dead = OLD + ("\n\nimport math\n\n\ndef expected_payoff(strategy, history):\n"
                  "    return helper(strategy) * math.pi\n\n\ndef helper(x):\n    return x\n\n\nclass Unused:\n"
                  "    pass\n")
    assert same_program(OLD, dead)
    called = dead + "print(expected_payoff(1, []))\n"
    assert not same_program(OLD, called)
    assert not same_program(OLD, OLD.replace("return distances.argmin(1)", "return helper(distances)")
                            + "\n\ndef helper(d):\n    return d.argmax(1)\n")
    assert not same_program(OLD, dead.replace("class Unused:", "@register\nclass Unused:"))  # a decorator runs
    assert not same_program(OLD, OLD.replace("def predict", "def predict_new"))  # a renamed function is a change
