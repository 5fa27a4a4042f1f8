"""Hydra's own composition errors at the CLI boundary (finding 10 of issue 17): one line naming the bad key or option
with the valid choices, exit code 2, as README promises for every user error (Hydra printed 6-14 lines, exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.cli import composition_error

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("argv", "line"), [
    (["llm=nope"], "llm=nope: no option 'nope' in group llm. Available options: claude, gpt4, llama, local, replay, "
                   "tiny, vllm"),
    (["budgets.stepz=3"], "budgets.stepz=3: unknown key 'budgets'; valid keys: llm, feedback, sandbox,"),
    (["idea.num_hypothesez=3"], "idea.num_hypothesez=3: unknown key 'num_hypothesez' in 'idea' (did you mean "
                                "'num_hypotheses'?); valid keys: num_hypotheses, "),
    (["llm=tiny", "llm.nope=1"], "llm.nope=1: unknown key 'nope' in 'llm'; valid keys: name, backend,"),
    (["hydra/launcher=nope"], "hydra/launcher=nope: no option 'nope' in group hydra/launcher. Available options: "
                              "basic, joblib,"),
    (["llm=["], "llm=[: not a valid override (no viable alternative at input '[')"),
    (["seed=0,1"], "seed=0,1: a comma makes it a sweep; add -m (--multirun)"),
    (["-m", "seed=0,1", "llm=tiny,nope"], "llm=tiny,nope: no option 'nope' in group llm."),
], ids=["unknown-option", "unknown-top-key", "typo-in-a-key", "unknown-key-of-a-preset", "unknown-hydra-option",
        "unparsable", "sweep-without-multirun", "bad-value-in-a-sweep"])
def test_a_composition_error_is_one_line_naming_the_key_and_the_choices(argv, line):
    problem = composition_error(["task=tabular-digits", *argv])
    assert problem is not None and problem.startswith(line) and "\n" not in problem


def test_arguments_that_compose_pass_and_hydra_flags_are_left_to_hydra():
    assert composition_error(["task=tabular-digits", "llm=tiny", "idea.num_hypotheses=2", "+extra.key=1"]) is None
    assert composition_error(["-m", "task=tabular-digits", "seed=0,1", "llm=tiny,local"]) is None
    assert composition_error(["task=tabular-digits", "--cfg", "job"]) is None
    assert composition_error(["task=tabular-digits", "--config-name", "other", "llm=nope"]) is None


@pytest.mark.parametrize("argv", [["llm=nope"], ["budgets.stepz=3"]])
def test_the_cli_prints_one_line_and_exits_2(argv):
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "COPILOT_DEBUG"}
    result = subprocess.run([sys.executable, "-m", "copilot", "task=tabular-digits", *argv], capture_output=True,
                            text=True, timeout=120, cwd=REPO, env=clean)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("copilot: error: ")
    assert "HYDRA_FULL_ERROR" not in result.stderr and "Traceback" not in result.stderr
