"""The task's own evaluation (read-only): the share of the tests of test_mcts.py that pass against mcts.py.

ml-dev-bench's own check runs `pytest test_mcts.py` and counts the task solved only when every test passes; this
evaluation runs the same file with pytest and reports the fraction of its tests that pass, so that partial progress is
measured. Writes results.json = {"metric": "pass_rate", "value": ..., "passed": ..., "total": ...} and prints
"METRIC pass_rate=<value>". Exits non-zero when pytest cannot collect the tests at all.
"""

import json
import sys
from pathlib import Path

import pytest


class Counter:
    """A pytest plugin that records each test's outcome: passed only when its setup, call and teardown all pass."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.outcome != "passed":
            self.outcomes[report.nodeid] = report.outcome
        elif report.when == "call":
            self.outcomes.setdefault(report.nodeid, "passed")


counter = Counter()
code = pytest.main(["-q", "-p", "no:cacheprovider", "-o", "addopts=",
                    "test_mcts.py"], plugins=[counter])
if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not counter.outcomes:
    sys.exit(f"evaluate.py: pytest could not run test_mcts.py against mcts.py (exit code {int(code)})")
passed = sum(outcome == "passed" for outcome in counter.outcomes.values())
total = len(counter.outcomes)
rate = passed / total
Path("results.json").write_text(json.dumps({"metric": "pass_rate", "value": rate, "passed": passed,
                                            "total": total}) + "\n")
print(f"METRIC pass_rate={rate:.6f}")
