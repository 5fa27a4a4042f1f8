"""The human as a participant: typed decisions at four named points, the `Feedback` protocol, and the shared base.

Points and what is asked there:

- `ideas`: after the hypotheses are ranked. Context `hypotheses` (ranked, best first; each has at least `title`,
  `problem`, `method`, `scores` and `total`). Answer `IdeaDecision`.
- `before_execution`: before an experiment command runs. Context `attempt_id`, `command`, `diff`. Answer
  `ExecDecision`.
- `after_execution`: after it ran and was measured. Context `attempt_id`, `status`, `metric`, `baseline`, `best`,
  `stdout_tail`, `stderr_tail`, `attempt_ids` (what can be rolled back to). Answer `AfterDecision`.
- `end`: after the report is written. Context `summary`. Answer `EndDecision`.

Every implementation (auto, interactive, confirm, scripted) derives from `FeedbackBase`, answers with the same
decision types, and hands each question and its answer to an optional `recorder`, so the stages never know which
one runs and the run directory keeps the whole conversation with the human.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from types import MappingProxyType
from typing import Any, Literal, Protocol, Self, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from copilot.rundir import JsonlWriter, utc_now

FeedbackPoint = Literal["ideas", "before_execution", "after_execution", "end"]
POINTS: tuple[FeedbackPoint, ...] = ("ideas", "before_execution", "after_execution", "end")

# Keys of a hypothesis row that come from ranking, not from the hypothesis itself: they are shown, never edited.
RANKING_FIELDS = frozenset({"scores", "total", "novel", "missing_packages", "reproduces_paper"})

Recorder = Callable[[str, dict[str, Any], dict[str, Any]], None]
"""`record(point, question, answer)`: called once per question with the context asked about and the answer given."""


def _require(present: bool, needed: bool, field: str, action: str) -> None:
    """Raise the validation error for a field missing where the action needs it, or set where it has no meaning."""
    if needed and not present:
        raise ValueError(f"{field} is required for action={action}")
    if present and not needed:
        raise ValueError(f"{field} has no meaning for action={action}")


class IdeaDecision(BaseModel):
    """What to do with the ranked hypotheses.

    `accept` the top one, `pick` the one at `index` (0-based), `edit` the one at `index` (its changed fields in
    `edited`), `regenerate` them (an optional `comment` says what should change), or `quit` the run.
    """

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "pick", "edit", "regenerate", "quit"]
    index: int | None = Field(default=None, ge=0)
    edited: dict[str, Any] | None = None
    comment: str | None = None

    @model_validator(mode="after")
    def _fields_match_action(self) -> Self:
        _require(self.index is not None, self.action in ("pick", "edit"), "index", self.action)
        _require(bool(self.edited), self.action == "edit", "edited", self.action)
        if self.comment is not None and self.action != "regenerate":
            raise ValueError(f"comment has no meaning for action={self.action}")
        return self


class ExecDecision(BaseModel):
    """Before an experiment runs: `approve` it, `skip` it, or `edit` it to run `command` instead."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "skip", "edit"]
    command: str | None = None

    @model_validator(mode="after")
    def _fields_match_action(self) -> Self:
        _require(bool(self.command and self.command.strip()), self.action == "edit", "command", self.action)
        return self


class AfterDecision(BaseModel):
    """After an experiment: `continue`, `instruct` the next attempt, `rollback` to `attempt_id`, or `stop`."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["continue", "instruct", "rollback", "stop"]
    instruction: str | None = None
    attempt_id: str | None = None

    @model_validator(mode="after")
    def _fields_match_action(self) -> Self:
        _require(bool(self.instruction and self.instruction.strip()), self.action == "instruct", "instruction",
                 self.action)
        _require(bool(self.attempt_id), self.action == "rollback", "attempt_id", self.action)
        return self


class EndDecision(BaseModel):
    """At the end: `accept` the run, or `comment` on it (the comment is stored with the run)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accept", "comment"]
    comment: str | None = None

    @model_validator(mode="after")
    def _fields_match_action(self) -> Self:
        _require(bool(self.comment and self.comment.strip()), self.action == "comment", "comment", self.action)
        return self


Decision = IdeaDecision | ExecDecision | AfterDecision | EndDecision
D = TypeVar("D", IdeaDecision, ExecDecision, AfterDecision, EndDecision)

DECISIONS: Mapping[FeedbackPoint, type[BaseModel]] = MappingProxyType({
    "ideas": IdeaDecision,
    "before_execution": ExecDecision,
    "after_execution": AfterDecision,
    "end": EndDecision,
})


def default_decision(point: FeedbackPoint) -> Decision:
    """The answer a trusting user gives at `point` (what `feedback=auto` answers): accept, approve, continue."""
    if point == "ideas":
        return IdeaDecision(action="accept")
    if point == "before_execution":
        return ExecDecision(action="approve")
    if point == "after_execution":
        return AfterDecision(action="continue")
    return EndDecision(action="accept")


def editable_fields(hypothesis: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a hypothesis row a human may edit: all but the ranking (`scores`, `total`, `novel`,
    `missing_packages`, `reproduces_paper`)."""
    return {key: value for key, value in hypothesis.items() if key not in RANKING_FIELDS}


@runtime_checkable
class Feedback(Protocol):
    """Answers the pipeline's questions at the named points. `recorder`, when set, receives every question/answer."""

    mode: str
    recorder: Recorder | None

    def on_ideas(self, *, hypotheses: list[dict[str, Any]]) -> IdeaDecision:
        """Which of the ranked hypotheses to pursue."""
        ...

    def before_execution(self, *, attempt_id: str, command: str, diff: str) -> ExecDecision:
        """Whether to run an experiment, given its command and its code diff."""
        ...

    def after_execution(self, *, attempt_id: str, status: str, metric: float | None, baseline: float | None,
                        best: float | None, stdout_tail: str, stderr_tail: str,
                        attempt_ids: list[str]) -> AfterDecision:
        """What to do next, given the measured result."""
        ...

    def at_end(self, *, summary: dict[str, Any]) -> EndDecision:
        """Accept the finished run or comment on it."""
        ...


class FeedbackBase(ABC):
    """The four protocol methods, written once: each packs its context into a question dict, asks `_answer`,
    checks the answer's type and hands both to `recorder`. Implementations only write `_answer`.
    """

    mode: str = ""
    recorder: Recorder | None = None
    pause: Callable[[], AbstractContextManager[Any]] = nullcontext
    """Entered while a question is answered: the run's live progress display holds still (`Progress.paused`)."""

    @abstractmethod
    def _answer(self, point: FeedbackPoint, question: dict[str, Any]) -> Decision:
        """The decision at `point` given the context in `question` (the keyword arguments of the public method)."""

    def _ask(self, point: FeedbackPoint, kind: type[D], question: dict[str, Any]) -> D:
        with self.pause():
            answer = self._answer(point, question)
        if not isinstance(answer, kind):
            raise TypeError(f"{type(self).__name__} answered {type(answer).__name__} at {point}, not {kind.__name__}")
        if self.recorder is not None:
            self.recorder(point, question, answer.model_dump(mode="json", exclude_none=True))
        return answer

    def on_ideas(self, *, hypotheses: list[dict[str, Any]]) -> IdeaDecision:
        """Which of the ranked hypotheses (best first, at least one) to pursue."""
        if not hypotheses:
            raise ValueError("on_ideas needs at least one ranked hypothesis")
        return self._ask("ideas", IdeaDecision, {"hypotheses": hypotheses})

    def before_execution(self, *, attempt_id: str, command: str, diff: str) -> ExecDecision:
        """Whether to run attempt `attempt_id`'s `command`, given its unified `diff` against the starter code."""
        return self._ask("before_execution", ExecDecision,
                         {"attempt_id": attempt_id, "command": command, "diff": diff})

    def after_execution(self, *, attempt_id: str, status: str, metric: float | None, baseline: float | None,
                        best: float | None, stdout_tail: str, stderr_tail: str,
                        attempt_ids: list[str]) -> AfterDecision:
        """What to do after attempt `attempt_id` ran; `attempt_ids` are the attempts a rollback may go back to."""
        return self._ask("after_execution", AfterDecision, {
            "attempt_id": attempt_id, "status": status, "metric": metric, "baseline": baseline, "best": best,
            "stdout_tail": stdout_tail, "stderr_tail": stderr_tail, "attempt_ids": list(attempt_ids)})

    def at_end(self, *, summary: dict[str, Any]) -> EndDecision:
        """Accept the finished run (its `summary.json` content) or comment on it."""
        return self._ask("end", EndDecision, {"summary": summary})

    def ask_point(self, point: Any, **context: Any) -> Any:
        """Ask a feedback point of one's own (`copilot.feedback.points`) with its place's context."""
        question = {"question": point.question(**context), **context}
        with self.pause():
            answer = self._answer_point(point, question)
        if self.recorder is not None:
            self.recorder(point.name, question, answer.model_dump(mode="json", exclude_none=True))
        return answer

    def _answer_point(self, point: Any, question: dict[str, Any]) -> Any:
        """The answer a trusting user gives: the point's first action. Implementations that ask override it."""
        from copilot.feedback.points import PointDecision

        return PointDecision(action=point.actions[0])


def jsonl_recorder(writer: JsonlWriter, mode: str) -> Recorder:
    """A `Recorder` that appends `{ts, mode, point, question, answer}` to `writer`, one flushed line per question.

    Wire it up as `feedback.recorder = jsonl_recorder(run.jsonl("env_log/feedback.jsonl"), feedback.mode)`.
    """

    def record(point: str, question: dict[str, Any], answer: dict[str, Any]) -> None:
        writer.write({"ts": utc_now(), "mode": mode, "point": point, "question": question, "answer": answer})

    return record
