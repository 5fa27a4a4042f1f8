"""Putting back a statement a whole-script rewrite dropped (the coach's `restore_dropped_lines` rule,
copilot/coach/repairs.py), on the shapes the embedded model produced: the data-loading lines lost while the features
were rewritten."""

from __future__ import annotations

from copilot.coach.repairs import failing_line, restore_dropped_definition

STARTER = '''import pandas as pd
from sklearn.linear_model import LogisticRegression

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")

classifier = LogisticRegression(C=1.0, max_iter=1000)
classifier.fit(train[["x"]], train["label"])
'''
REWRITE = '''import pandas as pd
from sklearn.linear_model import LogisticRegression

# Features: embeddings
X_train = encode(
    train["text"].tolist(),
)
X_test = encode(test["text"].tolist())
classifier = LogisticRegression(C=10.0, max_iter=1000)
'''


def traceback(line: int, name: str) -> str:
    return (f'Traceback (most recent call last):\n  File "/runs/r1/workspace/train.py", line {line}, in <module>\n'
            f"    ...\nNameError: name '{name}' is not defined")


def test_the_dropped_assignment_goes_back_before_the_statement_that_failed():
    fixed = restore_dropped_definition(REWRITE, traceback(6, "train"), "train.py", [STARTER])
    assert fixed is not None
    assert fixed.description == ("restored `train` from the earlier working version: "
                                 'train = pd.read_csv("data/train.csv")')
    assert '# Features: embeddings\ntrain = pd.read_csv("data/train.csv")\nX_train = encode(' in fixed.code
    again = restore_dropped_definition(fixed.code, traceback(9, "test"), "train.py", [STARTER])
    assert again is not None and 'test = pd.read_csv("data/test.csv")\nX_test = encode(' in again.code
    assert "restored `test` from the earlier working version" in again.description


def test_nothing_is_guessed():
    # Not a NameError; a name the earlier version never bound; a name the new script binds (an ordering problem);
    # a function the earlier version defined (only assignments and imports are restored); code that does not parse.
    assert restore_dropped_definition(REWRITE, "KeyError: 'text'", "train.py", [STARTER]) is None
    assert restore_dropped_definition(REWRITE, traceback(5, "encode"), "train.py", [STARTER]) is None
    late = REWRITE + 'train = pd.read_csv("data/train.csv")\n'
    assert restore_dropped_definition(late, traceback(6, "train"), "train.py", [STARTER]) is None
    assert restore_dropped_definition(REWRITE, traceback(5, "encode"), "train.py", ["def encode(x):\n    return x\n"]) \
        is None
    assert restore_dropped_definition("x = (\n", traceback(1, "train"), "train.py", [STARTER]) is None


def test_the_failing_line_is_the_scripts_last_frame():
    output = ('  File "/w/train.py", line 12, in <module>\n    main()\n  File "/w/train.py", line 4, in main\n'
              '  File "/usr/lib/python3.11/site-packages/pkg/train.py.bak", line 99\n')
    assert failing_line(output, "train.py") == 4
    assert failing_line("NameError: name 'x' is not defined", "train.py") is None
    no_line = restore_dropped_definition(REWRITE, "NameError: name 'train' is not defined", "train.py", [STARTER])
    assert no_line is not None and no_line.code.index("train = pd.read_csv") < no_line.code.index("X_train")
