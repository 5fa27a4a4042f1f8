"""The problem's hard rules (copilot/constraints/): extraction from real phrasings, the static checks of code and of
hypothesis text, and the LLM pass (with a scripted LLM: canned replies, not model output)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from copilot.constraints import (
    Constraint,
    attempt_violations,
    constraints_for,
    extract_constraints,
    not_experiment_code,
    starter_reads,
    text_violations,
    violations,
)
from copilot.task import load_task

PROBLEM = """The script run.py applies an edge-preserving bilateral filter (smooth.py, function bilateral_filter) to a
96x96 image. The filter is written with nested Python loops and is slow. Make bilateral_filter faster while keeping
its result the same (within 1e-6 of the original), using only the numpy library and the Python standard library.
Do not use scipy, numba or opencv. Never read the files in the reference folder directly: they hold the outputs the
evaluation compares with. The evaluation times bilateral_filter and reports the median time in seconds."""


def kinds(text: str) -> list[tuple[str, list[str], list[str]]]:
    return [(c.kind, c.names, c.patterns) for c in extract_constraints(text)]


def test_common_phrasings_become_checkable_rules():
    assert kinds(PROBLEM) == [("allowed_imports", ["numpy"], []), ("forbidden_imports", ["scipy", "numba", "cv2"], []),
                              ("forbidden_reads", [], ["reference/*"])]
    # MLAgentBench's wording (the phrase only; none of its tasks is used here)
    assert kinds("Then fill in the provided train.py script. Never try to read any csv files directly. Do not "
                 "forget to execute the changes you made to check for performance.") == [
        ("forbidden_reads", [], ["*.csv"])]
    assert kinds("Improve its speed using only the numpy library and vectorisation in the forward function.") == [
        ("allowed_imports", ["numpy"], [])]
    assert kinds("You must not, at any point, read data/test.csv.") == [("forbidden_reads", [], ["data/test.csv"])]
    assert kinds("Solve it without PyTorch or TensorFlow.") == [("forbidden_imports", ["torch", "tensorflow"], [])]
    assert kinds("scikit-learn is not allowed.") == [("forbidden_imports", ["sklearn"], [])]
    assert kinds("Only use pandas and scikit-learn; no other library.")[0] == ("allowed_imports",
                                                                               ["pandas", "sklearn"], [])


def test_a_rule_in_no_checkable_form_is_a_text_rule_and_description_is_no_rule():
    rules = extract_constraints("Do not use pretrained models. Pretrained weights are not allowed. The model only "
                                "sees 8x8 images. We train with only 100 labelled examples.")
    assert [(c.kind, c.rule) for c in rules] == [("text", "Do not use pretrained models."),
                                                 ("text", "Pretrained weights are not allowed.")]
    assert extract_constraints("The evaluation reports the median time in seconds.") == []


def test_prompt_lines_say_what_the_check_enforces():
    lines = [c.prompt_line() for c in extract_constraints(PROBLEM)]
    assert lines[0].endswith("(code may import only numpy and the Python standard library)")
    assert lines[1] == "Do not use scipy, numba or opencv. (code must not import scipy, numba, cv2)"
    assert lines[2].endswith("(code must not open or read reference/*)")


RULES = extract_constraints(PROBLEM)


def test_imports_of_every_form_are_found_and_comments_strings_stdlib_and_local_modules_are_not():
    code = '''# torch would be faster here
"""Unlike scipy.ndimage, this uses numpy."""
import math, os.path
import numpy as np
import scipy.ndimage as nd
from numba import njit
import importlib
tf = importlib.import_module("tensorflow.keras")
cv = __import__("cv2")
from importlib import import_module as load_module
torch = load_module("torch.nn")
from helpers import window
from . import sibling
message = "import torch"
'''
    found = violations({"smooth.py": code, "helpers.py": "import numpy\n"}, RULES)
    allowed_only = [line for line in found if "only numpy" in line]
    assert [line.split(": imports ")[0] + " " + line.split(": imports ")[1].split(",")[0] for line in allowed_only] == [
        "smooth.py:5 scipy", "smooth.py:6 numba", "smooth.py:8 tensorflow", "smooth.py:9 cv2", "smooth.py:11 torch"]
    forbidden = [line for line in found if "which is forbidden" in line and "imports" in line]
    assert [line.split(":")[1] for line in forbidden] == ["5", "6", "9"]
    assert all('(rule: "' in line for line in found)


def test_reads_of_forbidden_files_are_found_through_literals_names_and_paths():
    code = '''import numpy as np
from pathlib import Path
import os
REFERENCE = "reference/expected_a.npy"
a = np.load(REFERENCE)
b = open("reference/expected_b.npy", "rb").read()
c = (Path("reference") / "expected_a.npy").read_bytes()
d = np.load(f"reference/expected_{1}.npy")
e = np.loadtxt(os.path.join("reference", "values.txt"))
open("reference/notes.txt", "w").write("written, not read")
np.save("reference/out.npy", a)
f = np.load("inputs/image.npy")
'''
    found = [line for line in violations({"smooth.py": code}, RULES) if "reads" in line]
    assert [line.split(" (")[0] for line in found] == [
        "smooth.py:5: reads reference/expected_a.npy", "smooth.py:6: reads reference/expected_b.npy",
        "smooth.py:7: reads reference/expected_a.npy", "smooth.py:8: reads reference/expected_{}.npy",
        "smooth.py:9: reads reference/values.txt"]


def test_a_subfolder_script_reading_up_the_tree_is_resolved():
    found = violations({"src/train.py": "import numpy\nnumpy.load('../reference/expected_a.npy')\n"}, RULES)
    assert found and found[0].startswith("src/train.py:2: reads ../reference/expected_a.npy")


def test_the_evaluation_and_what_the_starter_already_does_are_not_violations(repo_root):
    csv_rule = extract_constraints("Never try to read any csv files directly.")
    starter = repo_root / "workspaces" / "tabular-digits"
    assert len(violations(starter, csv_rule, exclude=["evaluate.py"])) == 2, "the starter reads train.csv, test.csv"
    attempt = {"train.py": "import pandas as pd\ntrain = pd.read_csv('data/train.csv')\n"
                           "test = pd.read_csv('data/test.csv')\nlabels = pd.read_csv('data/test_labels.csv')\n",
               "evaluate.py": "import pandas as pd\npd.read_csv('data/test_labels.csv')\n"}
    assert violations(attempt, csv_rule, exclude=["evaluate.py"], baseline=starter) == [
        'train.py:4: reads data/test_labels.csv (pd.read_csv), which is forbidden (rule: "Never try to read any csv '
        'files directly.")']
    assert starter_reads(starter, exclude=["evaluate.py"]) == ["data/train.csv", "data/test.csv"]


def test_text_rules_are_never_checked_on_code():
    assert violations({"a.py": "import torch\n"}, [Constraint(rule="Do not use pretrained models.", kind="text")]) == []


def test_hypothesis_text_names_a_library_the_rules_forbid_unless_it_is_negated():
    assert text_violations("Replace the current model with PyTorch's Conv2D layer", RULES) == [
        'uses PyTorch, but the rule allows only numpy and the standard library: "' + RULES[0].rule + '"']
    assert text_violations("Vectorise bilateral_filter with numpy broadcasting instead of scipy loops; no numba",
                           RULES) == []
    assert text_violations("Vectorise it in numpy instead of using scipy, and avoid using numba", RULES) == []
    assert text_violations("Replace the scipy call with numpy", RULES) == []
    assert text_violations("Replace the loops with scipy.ndimage", RULES), "after 'replace ... with' it is used"
    assert len(text_violations("Use scipy.ndimage.generic_filter", RULES)) == 2, "not allowed, and forbidden"
    assert text_violations("A Vision Transformer as in the paper, written in numpy", RULES) == []
    assert text_violations("Load the weights with the `transformers` library", RULES)
    assert text_violations("Compare the output with reference/expected_a.npy while tuning", RULES) == [
        'reads reference/expected_a.npy, which the rule forbids: "' + RULES[2].rule + '"']


def test_hypothesis_text_may_read_what_the_starter_reads():
    csv_rule = extract_constraints("Never try to read any csv files directly.")
    reads = ["data/train.csv", "data/test.csv"]
    assert text_violations("Load train.csv with pd.read_csv and add pixel sums", csv_rule, allowed_reads=reads) == []
    assert text_violations("Peek at data/test_labels.csv", csv_rule, allowed_reads=reads)
    assert text_violations("Read the labels with pd.read_csv", csv_rule) == [
        'reads files with pd.read_csv, which the rule forbids: "Never try to read any csv files directly."']


def write_task(tmp_path: Path, problem: str, constraints: list[str]) -> Path:
    problems, workspaces = tmp_path / "problems", tmp_path / "workspaces"
    (problems / "t").mkdir(parents=True)
    (workspaces / "t" / "reference").mkdir(parents=True)
    (workspaces / "t" / "smooth.py").write_text("import numpy as np\n")
    (workspaces / "t" / "evaluate.py").write_text("import numpy as np\nnp.load('reference/expected.npy')\n")
    (workspaces / "t" / "reference" / "expected.npy").write_bytes(b"")
    lines = "".join(f"  - {c!r}\n" for c in constraints)
    (problems / "t" / "task.yaml").write_text(
        "title: T\nproblem: |\n  " + problem.replace("\n", "\n  ") + "\nworkspace: ../../workspaces/t\n"
        "metric: {name: seconds, direction: minimize}\nrun: python smooth.py\nevaluate: python evaluate.py\n"
        "read_only: [evaluate.py, reference/expected.npy]\n" + (f"constraints:\n{lines}" if constraints else ""))
    return tmp_path


def test_constraints_for_reads_task_yaml_and_the_problem(tmp_path):
    root = write_task(tmp_path, PROBLEM, ["use only numpy", "Keep the function's signature."])
    task = load_task("t", root / "problems", root / "workspaces")
    rules = constraints_for(task)
    assert [(c.kind, c.source) for c in rules] == [("allowed_imports", "task.yaml"), ("text", "task.yaml"),
                                                  ("allowed_imports", "problem"), ("forbidden_imports", "problem"),
                                                  ("forbidden_reads", "problem")]
    assert not_experiment_code(task) == ["evaluate.py", "reference/expected.npy"]
    workspace = tmp_path / "attempt"
    shutil.copytree(task.workspace, workspace)
    assert attempt_violations(task, workspace, rules) == [], "the evaluation reads reference/, the experiment not"
    (workspace / "smooth.py").write_text("import numpy as np\nfrom scipy import ndimage\n")
    assert [line.split(" (rule")[0] for line in attempt_violations(task, workspace, rules)] == [
        "smooth.py:2: imports scipy, but only numpy and the standard library are allowed",
        "smooth.py:2: imports scipy, which is forbidden"], "two rules allow only numpy: one line for them"


def test_the_llm_pass_keeps_only_rules_that_quote_the_problem(tmp_path, scripted):
    """Scripted LLM (canned replies): the sentences no phrasing rule explains are shown to it; a rule it quotes from
    the problem is kept as `source="llm"`, one it made up is dropped."""
    problem = "Speed up the filter. The output must stay within 1e-6 of the reference. Results go to output.npy."
    root = write_task(tmp_path, problem, [])
    task = load_task("t", root / "problems", root / "workspaces")
    llm = scripted([{"rules": [
        {"quote": "The output must stay within 1e-6 of the reference.", "kind": "text"},
        {"quote": "Never use more than one thread.", "kind": "text"},
        {"quote": "Speed up the filter.", "kind": "forbidden_imports", "names": ["unknown-lib"]}]}])
    rules = constraints_for(task, llm=llm)
    assert [(c.rule, c.kind, c.source) for c in rules] == [
        ("The output must stay within 1e-6 of the reference.", "text", "llm"),
        ("Speed up the filter.", "text", "llm")]
    asked = llm.backend.requests[0].messages[-1].content
    assert "- The output must stay within 1e-6 of the reference." in asked and "- Results go" not in asked


def test_without_rule_like_sentences_the_llm_is_not_asked(tmp_path, scripted):
    root = write_task(tmp_path, "Speed up the filter in smooth.py.", [])
    llm = scripted([])
    assert constraints_for(load_task("t", root / "problems", root / "workspaces"), llm=llm) == []
    assert llm.backend.requests == []


@pytest.mark.parametrize("phrase", ["the numpy-only rule", "numpy"])
def test_a_rule_that_allows_nothing_checkable_is_not_an_import_rule(phrase):
    assert all(c.kind != "allowed_imports" for c in extract_constraints(f"This mentions {phrase} in passing."))


def test_prompts_list_only_the_packages_the_rules_permit():
    from copilot.constraints import permitted_packages

    installed = ["numpy", "pandas", "scipy", "sklearn", "torch"]
    assert permitted_packages(installed, RULES) == ["numpy"]
    assert permitted_packages(installed, extract_constraints("Do not use PyTorch.")) == [
        "numpy", "pandas", "scipy", "sklearn"]
    assert permitted_packages(installed, []) == installed and permitted_packages(None, RULES) is None
    assert permitted_packages(installed, RULES, starter=["pandas"]) == ["numpy", "pandas"], "the starter uses it"


def test_a_real_task_whose_starter_uses_pandas_under_a_numpy_only_rule(repo_root):
    """cancer-adam (the real-task suite): "use only the numpy library for the model and its training" in task.yaml
    and again in the problem; its starter loads the csv files with pandas, which the task therefore allows."""
    from copilot.constraints import starter_imports

    task = load_task("cancer-adam", repo_root / "problems", repo_root / "workspaces")
    rules = constraints_for(task)
    assert [(c.kind, c.names, c.source) for c in rules if c.kind != "text"] == [
        ("allowed_imports", ["numpy"], "task.yaml"), ("allowed_imports", ["numpy"], "problem")]
    starter = violations(task.workspace, rules, exclude=not_experiment_code(task))
    assert len(starter) == 1 and starter[0].startswith("train.py:9: imports pandas"), "one line, not one per rule"
    assert attempt_violations(task, task.workspace, rules) == []
    imports = starter_imports(task.workspace, exclude=not_experiment_code(task))
    assert "pandas" in imports
    assert text_violations("Keep the pandas loading; replace SGD with Adam written in numpy", rules,
                           allowed_modules=imports) == []
    assert text_violations("Train the network with torch.optim.Adam", rules, allowed_modules=imports)


def test_text_that_proposes_to_change_a_read_only_file_is_told_apart_from_text_that_only_names_it():
    from copilot.constraints import read_only_edits
    read_only = ["evaluate.py", "data/holdout.csv"]
    for text in ("The `evaluate.py` script should be modified to include a real-time validation scheme.",
                 "Modify evaluate.py to report AUC", "Update data/holdout.csv with new rows",
                 "rewrite the evaluation in ./evaluate.py so that it uses RMSE"):
        assert read_only_edits(text, read_only), text
    for text in ("Modify train.py to write predictions that evaluate.py reads", "Do not modify evaluate.py",
                 "Keep evaluate.py unchanged and change the model", "without changing evaluate.py",
                 "Change the model in train.py; evaluate.py scores it"):
        assert read_only_edits(text, read_only) == [], text
