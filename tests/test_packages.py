"""What the prompts say about installable packages: asked of the real local sandbox, recorded once per run, and
prose that names a package the sandbox lacks."""

from __future__ import annotations

import logging

from copilot.rundir import RunDir
from copilot.sandbox.base import RunResult
from copilot.sandbox.local import LocalSandbox
from copilot.sandbox.packages import (
    available_packages,
    missing_packages_named,
    packages_line,
)


class BrokenSandbox:
    """A sandbox whose interpreter cannot run (as a Docker image without Python would)."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, command, cwd, **kwargs):
        self.calls += 1
        return RunResult(command=command, exit_code=127, duration_s=0.0, reason="finished",
                         stderr_tail="bash: python: command not found")


def test_the_sandbox_names_what_it_can_import_and_the_answer_is_recorded(tmp_path):
    run = RunDir(tmp_path / "run")
    packages = available_packages(LocalSandbox(), run)
    assert packages[:4] == ["numpy", "pandas", "scipy", "sklearn"]
    assert "prophet" not in packages  # named by the demo paper's related work, not installed here
    broken = BrokenSandbox()
    assert available_packages(broken, run) == packages and broken.calls == 0  # read back, not asked again
    line = packages_line(packages)
    assert line.startswith("Python packages the experiment can import: numpy, pandas, scipy, sklearn")
    assert line.endswith("Nothing else can be installed (no network).")


def test_an_interpreter_that_cannot_answer_leaves_the_prompts_silent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="copilot.sandbox"):
        assert available_packages(BrokenSandbox(), RunDir(tmp_path / "run")) is None
    assert "command not found" in caplog.text
    assert packages_line(None) == "" and not (tmp_path / "run" / "sandbox_packages.json").exists()


def test_prose_that_names_a_package_the_sandbox_lacks_is_caught():
    installed = ["numpy", "pandas", "sklearn", "torch"]
    assert missing_packages_named("Replace the model with Prophet( yearly_harmonic=3)", installed) == ["prophet"]
    assert missing_packages_named("Gradient boosting with XGBRegressor and LightGBM", installed) == [
        "xgboost", "lightgbm"]
    assert missing_packages_named("A PyTorch MLP, then scikit-learn's RandomForestRegressor", installed) == []
    assert missing_packages_named("prophetic seasonality with a kerasian trend", installed) == []  # whole words only
    assert missing_packages_named("Use Prophet", None) == [], "unknown packages: nothing is flagged"
