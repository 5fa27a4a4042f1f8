"""`ScriptedFeedback`: answers from a YAML file, for reproducible runs and tests.

    ideas: [{action: pick, index: 1}]
    before_execution: [{action: approve}, {action: edit, command: "python train.py --fast"}]
    after_execution: [{action: instruct, instruction: "try a random forest"}, {action: stop}]
    end: [{action: comment, comment: "good run"}]

Each list is consumed in order; when one runs out, the answer is the auto default and that is logged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from copilot.errors import UserError
from copilot.feedback.base import (
    DECISIONS,
    DEFAULTS,
    POINTS,
    AfterDecision,
    EndDecision,
    ExecDecision,
    IdeaDecision,
)

log = logging.getLogger("copilot.feedback")


class ScriptedFeedback:
    """Replays scripted decisions per point."""

    mode = "scripted"

    def __init__(self, path: str) -> None:
        self.path = Path(path).expanduser()
        self.queues: dict[str, list[BaseModel]] = self._load()
        self.answered: list[tuple[str, dict[str, Any]]] = []

    def _load(self) -> dict[str, list[BaseModel]]:
        if not self.path.is_file():
            raise UserError(f"feedback script '{self.path}' does not exist")
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise UserError(f"feedback script '{self.path}': not valid YAML ({str(error).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise UserError(f"feedback script '{self.path}': expected a mapping of points to lists of answers")
        queues: dict[str, list[BaseModel]] = {point: [] for point in POINTS}
        for point, answers in data.items():
            if point not in DECISIONS:
                raise UserError(f"feedback script '{self.path}': unknown point '{point}'; "
                                f"valid points: {', '.join(POINTS)}")
            if not isinstance(answers, list):
                raise UserError(f"feedback script '{self.path}': '{point}' must be a list of answers")
            for number, answer in enumerate(answers, 1):
                try:
                    queues[point].append(DECISIONS[point].model_validate(answer))
                except ValidationError as error:
                    first = error.errors()[0]
                    where = ".".join(str(p) for p in first["loc"]) or "(answer)"
                    raise UserError(f"feedback script '{self.path}': {point} answer {number}: {where}: "
                                    f"{first['msg']}") from None
        return queues

    def _next(self, point: str) -> Any:
        if self.queues[point]:
            answer = self.queues[point].pop(0)
        else:
            answer = DEFAULTS[point]
            log.info("feedback script has no more '%s' answers: using the default (%s)", point, answer)
        self.answered.append((point, answer.model_dump()))
        return answer

    def on_ideas(self, *, hypotheses: list[dict[str, Any]]) -> IdeaDecision:
        """The next scripted `ideas` answer."""
        return self._next("ideas")

    def before_execution(self, *, attempt_id: str, command: str, diff: str) -> ExecDecision:
        """The next scripted `before_execution` answer."""
        return self._next("before_execution")

    def after_execution(self, **_: Any) -> AfterDecision:
        """The next scripted `after_execution` answer."""
        return self._next("after_execution")

    def at_end(self, *, summary: dict[str, Any]) -> EndDecision:
        """The next scripted `end` answer."""
        return self._next("end")
