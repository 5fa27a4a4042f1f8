"""`ScriptedFeedback`: answers from a YAML file, for reproducible runs, demos and tests.

    ideas: [{action: pick, index: 1}]                 # index is 0-based, as in hypotheses.json
    before_execution:
      - approve                                       # a bare action is short for {action: approve}
      - {action: edit, command: "python train.py --fast"}
    after_execution:
      - {action: instruct, instruction: "try a random forest"}
      - {action: rollback, attempt_id: a001}
      - stop
    end: [{action: comment, comment: "good run"}]

Each list is consumed in order. When one runs out, the answer is the `feedback=auto` default (accept, approve,
continue, accept) and that is logged. The whole file is validated when it is loaded; an answer that does not fit
the question it meets (an index past the hypotheses, a rollback to an unknown attempt) is reported when it is used.
Every error is a `UserError` naming the file and the entry.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from copilot.errors import UserError
from copilot.feedback.base import (
    DECISIONS,
    POINTS,
    AfterDecision,
    Decision,
    FeedbackBase,
    FeedbackPoint,
    IdeaDecision,
    default_decision,
    editable_fields,
)
from copilot.feedback.points import PointDecision, check_decision

log = logging.getLogger(__name__)


def _first_problem(error: ValidationError) -> str:
    item = error.errors()[0]
    where = ".".join(str(part) for part in item["loc"])
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{where}: {message}" if where else message


class ScriptedFeedback(FeedbackBase):
    """Replays the decisions of a YAML file, point by point, in order; the auto default once a list runs out."""

    mode = "scripted"

    def __init__(self, path: str | Path, points: list[str] | tuple[str, ...] = ()) -> None:
        self.path = Path(path).expanduser()
        self.point_names = tuple(points)  # feedback points of one's own (copilot.feedback.points) the run asks
        self._point_queues: dict[str, deque[tuple[int, PointDecision]]] = {name: deque() for name in self.point_names}
        self._queues: dict[FeedbackPoint, deque[tuple[int, Decision]]] = self._load()
        self._exhausted: set[FeedbackPoint] = set()

    def remaining(self, point: FeedbackPoint) -> int:
        """How many scripted answers are left for `point`."""
        return len(self._queues[point])

    def _error(self, where: str, problem: str) -> UserError:
        return UserError(f"feedback script '{self.path}': {where}: {problem}")

    def _load(self) -> dict[FeedbackPoint, deque[tuple[int, Decision]]]:
        if not self.path.is_file():
            raise UserError(f"feedback script '{self.path}' does not exist (set feedback.path to a YAML file)")
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise self._error("not valid YAML", str(error).splitlines()[0]) from None
        except UnicodeDecodeError:
            raise self._error("not a text file", "expected UTF-8 YAML") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise self._error("top level", f"expected a mapping of points ({', '.join(POINTS)}) to lists of answers")
        queues: dict[FeedbackPoint, deque[tuple[int, Decision]]] = {point: deque() for point in POINTS}
        for point, answers in data.items():
            if point not in DECISIONS and point not in self.point_names:
                valid = ", ".join([*POINTS, *self.point_names])
                raise self._error(f"'{point}'", f"unknown point; valid points: {valid}")
            if not isinstance(answers, list):
                raise self._error(f"'{point}'", "must be a list of answers")
            for number, answer in enumerate(answers, 1):
                entry = {"action": answer} if isinstance(answer, str) else answer
                if not isinstance(entry, dict):
                    raise self._error(f"{point} entry {number}", "expected a mapping such as {action: ...}")
                try:
                    if point in self.point_names:
                        self._point_queues[point].append((number, PointDecision.model_validate(entry)))
                        continue
                    decision = DECISIONS[point].model_validate(entry)
                except ValidationError as error:
                    raise self._error(f"{point} entry {number}", _first_problem(error)) from None
                queues[point].append((number, decision))  # type: ignore[arg-type]
        return queues

    def _answer_point(self, point: Any, question: dict[str, Any]) -> PointDecision:
        queue = self._point_queues.get(point.name)
        if not queue:
            return PointDecision(action=point.actions[0])
        number, decision = queue.popleft()
        problem = check_decision(point, decision)
        if problem:
            raise self._error(f"{point.name} entry {number}", problem)
        return decision

    def _answer(self, point: FeedbackPoint, question: dict[str, Any]) -> Decision:
        queue = self._queues[point]
        if not queue:
            if point not in self._exhausted:
                self._exhausted.add(point)
                log.info("feedback script '%s' has no more '%s' answers: answering with the auto default from now on",
                         self.path, point)
            return default_decision(point)
        number, decision = queue.popleft()
        problem = _misfit(decision, question)
        if problem:
            raise self._error(f"{point} entry {number}", problem)
        return decision


def _misfit(decision: Decision, question: dict[str, Any]) -> str | None:
    """Why a scripted decision cannot answer this question (an index or attempt that does not exist), if it cannot."""
    if isinstance(decision, IdeaDecision) and decision.index is not None:
        hypotheses = question["hypotheses"]
        if decision.index >= len(hypotheses):
            return f"index {decision.index} is past the {len(hypotheses)} hypotheses (indices start at 0)"
        if decision.edited:
            fields = editable_fields(hypotheses[decision.index])
            unknown = sorted(set(decision.edited) - set(fields))
            if unknown:
                return f"edited field '{unknown[0]}' is not a hypothesis field; fields: {', '.join(fields)}"
    if isinstance(decision, AfterDecision) and decision.action == "rollback":
        ids = question["attempt_ids"]
        if decision.attempt_id not in ids:
            return f"rollback to '{decision.attempt_id}', which is not an attempt of this run ({', '.join(ids)})"
    return None
