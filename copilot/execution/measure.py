"""Reading an attempt's metric from the task's own evaluation, and nothing else.

Convention (documented for task authors): the evaluation command writes `results.json` (the task's `results_file`)
in the workspace: a JSON object `{"metric": "<name>", "value": <number>, ...}`. The name must equal the task's metric
(case-insensitive); the value must be a finite real number (a JSON number; booleans and strings are refused). Other
scalar keys are kept as extras. When there is no results file, the fallback is the LAST stdout line of the
evaluation of the form `METRIC <name>=<value>`. The evaluation must have exited 0. The loop deletes any results file
before the experiment and again before the evaluation, so only the evaluation can have written it.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from copilot.execution.attempt import Measurement
from copilot.sandbox.base import RunResult
from copilot.task import MetricSpec

METRIC_LINE = re.compile(r"^METRIC\s+([A-Za-z0-9_.\-]+)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


class MeasurementError(Exception):
    """No valid metric could be read; the message becomes the attempt's error."""


def clear_results(workspace: Path, results_file: str) -> None:
    """Delete a stale results file."""
    (workspace / results_file).unlink(missing_ok=True)


def _finite(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MeasurementError(f"{where}: 'value' must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise MeasurementError(f"{where}: 'value' is {value}, not a finite number")
    return float(value)


def evaluation_output(evaluation: RunResult, limit: int = 1200) -> str:
    """What a failed evaluation said, its last `limit` characters: the stdout tail, then the stderr tail. An
    evaluation's last words name only the failure ("pytest could not run test_mcts.py against mcts.py"); the cause
    ("ImportError: cannot import name 'MCTS' from 'mcts'", in pytest's report) is often on stdout, and the debug
    episode that follows is asked to fix what this message says."""
    stdout, stderr = evaluation.stdout_tail.strip(), evaluation.stderr_tail.strip()
    if not (stdout and stderr):
        return (stderr or stdout)[-limit:]
    stderr = stderr[-limit // 2:]
    return f"{stdout[-(limit - len(stderr)):]}\n{stderr}"


def read_measurement(workspace: Path, results_file: str, metric: MetricSpec, evaluation: RunResult) -> Measurement:
    """The metric written by the evaluation that just ran, or `MeasurementError` saying what is wrong."""
    if not evaluation.ok:
        raise MeasurementError(f"the evaluation ended with {evaluation.reason}, exit code {evaluation.exit_code}: "
                               f"{evaluation_output(evaluation) or '(no output)'}")
    path = workspace / results_file
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise MeasurementError(f"{results_file} is not valid JSON ({error})") from None
        if not isinstance(data, dict):
            raise MeasurementError(f"{results_file} must hold a JSON object, found {type(data).__name__}")
        name = data.get("metric")
        if not isinstance(name, str) or name.lower() != metric.name.lower():
            raise MeasurementError(f"{results_file} reports metric {name!r}; the task measures {metric.name!r}")
        if "value" not in data:
            raise MeasurementError(f"{results_file} has no 'value'")
        value = _finite(data["value"], results_file)
        extra = {k: v for k, v in data.items() if k not in ("metric", "value")
                 and (v is None or isinstance(v, str | int | float | bool))}
        return Measurement(metric=metric.name, value=value, source="results.json", extra=extra)
    lines = [m for line in evaluation.stdout_tail.splitlines() if (m := METRIC_LINE.match(line.strip()))]
    if lines:
        name, raw = lines[-1].group(1), lines[-1].group(2)
        if name.lower() != metric.name.lower():
            raise MeasurementError(f"the evaluation printed METRIC {name}=...; the task measures {metric.name!r}")
        return Measurement(metric=metric.name, value=_finite(float(raw), "METRIC line"), source="stdout")
    raise MeasurementError(f"the evaluation wrote no {results_file} and printed no 'METRIC {metric.name}=<value>' line")
