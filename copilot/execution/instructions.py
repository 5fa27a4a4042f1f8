"""What an attempt's episode is asked to do, from the step the policy chose (`prompts/instruction.j2`).

The instruction is the varying end of the episode's task block; it names the step's kind, the attempt it starts
from with its measured metric, the candidate it tests, the failure to fix (with the coach's advice), and what the
human asked after the last attempt.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from copilot.coach.base import Coach
from copilot.execution.attempt import Attempt
from copilot.execution.policies.base import NextStep
from copilot.task import TaskSpec

PROMPTS = Environment(loader=FileSystemLoader(Path(__file__).parent / "prompts"), undefined=StrictUndefined,
                      keep_trailing_newline=False, autoescape=False)
ERROR_CHARS = 1500


def history_lines(attempts: list[Attempt]) -> str:
    """One line per attempt for the agent's context: id, kind, status, measured metric, short error."""
    lines = []
    for a in attempts:
        metric = f"{a.metric:.6g}" if a.metric is not None else "-"
        error = (a.error or "").strip().splitlines()[:1]
        lines.append(f"- {a.id} ({a.kind} from {a.parent or 'start'}): {a.status}, metric {metric}"
                     + (f", {error[0][:160]}" if error else ""))
    return "\n".join(lines)


def instruction_for(step: NextStep, attempts: list[Attempt], spec: TaskSpec, coach: Coach, earlier: list[str],
                    human: str | None = None) -> str:
    """The instruction of the attempt `step` asks for; `earlier` are working versions of the experiment script the
    coach may quote from, `human` what the human asked after the last attempt."""
    parent = next((a for a in attempts if a.id == step.parent), None)
    error = ""
    if parent is not None and parent.error and step.kind in ("debug", "repair"):
        error = parent.error[-ERROR_CHARS:] + coach.run_failed(parent.error, earlier)
    timed_out = bool(parent and parent.run and parent.run.reason == "timeout")
    return PROMPTS.get_template("instruction.j2").render(
        kind=step.kind, parent=step.parent, baseline_id=attempts[0].id if attempts else "", candidate=step.candidate,
        metric=spec.metric.name, direction=spec.metric.direction, run=spec.run, error=error, timed_out=timed_out,
        timeout=int(spec.budgets.run_timeout_s), human=human,
        value=f"{parent.metric:.6g}" if parent is not None and parent.metric is not None else "n/a",
    ).strip()
