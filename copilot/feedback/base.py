"""The human as a participant: typed decisions at four named points, and the `Feedback` protocol.

Points: `ideas` (after ranking hypotheses), `before_execution`, `after_execution`, `end`. Every implementation
(auto, interactive, confirm, scripted) answers with the same decision types, so the stages never know which one runs.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

FeedbackPoint = Literal["ideas", "before_execution", "after_execution", "end"]
POINTS: tuple[str, ...] = ("ideas", "before_execution", "after_execution", "end")


class IdeaDecision(BaseModel):
    """What to do with the ranked hypotheses. `index` is 0-based (pick/edit); `edited` holds changed fields."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "pick", "edit", "regenerate", "quit"]
    index: int | None = None
    edited: dict[str, Any] | None = None
    comment: str | None = None


class ExecDecision(BaseModel):
    """Before an experiment runs: approve it, skip it, or run an edited command."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "skip", "edit"]
    command: str | None = None


class AfterDecision(BaseModel):
    """After an experiment: continue, give an instruction for the next attempt, roll back to an attempt, or stop."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["continue", "instruct", "rollback", "stop"]
    instruction: str | None = None
    attempt_id: str | None = None


class EndDecision(BaseModel):
    """At the end: accept, or leave a comment that is stored with the run."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "comment"]
    comment: str | None = None


DECISIONS: dict[str, type[BaseModel]] = {
    "ideas": IdeaDecision,
    "before_execution": ExecDecision,
    "after_execution": AfterDecision,
    "end": EndDecision,
}

DEFAULTS: dict[str, BaseModel] = {
    "ideas": IdeaDecision(action="accept"),
    "before_execution": ExecDecision(action="approve"),
    "after_execution": AfterDecision(action="continue"),
    "end": EndDecision(action="accept"),
}


class Feedback(Protocol):
    """Answers the pipeline's questions at the named points."""

    mode: str

    def on_ideas(self, *, hypotheses: list[dict[str, Any]]) -> IdeaDecision: ...

    def before_execution(self, *, attempt_id: str, command: str, diff: str) -> ExecDecision: ...

    def after_execution(self, *, attempt_id: str, status: str, metric: float | None, baseline: float | None,
                        best: float | None, stdout_tail: str, stderr_tail: str,
                        attempt_ids: list[str]) -> AfterDecision: ...

    def at_end(self, *, summary: dict[str, Any]) -> EndDecision: ...
