"""Feedback points beyond the four built-in ones: each is one class in its own file here (or anywhere importable)
plus one yaml in `conf/points/` naming it by `_target_`; `feedback_points=[<name>, ...]` turns them on.

A point is asked at a named place of the pipeline (`at`, one of `SITES`) with that place's context, and answered
with one of its `actions` (the first is what `feedback=auto` answers; those in `needs_text` come with a text). The
place says what each action does; a point may use only actions its place understands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from omegaconf import OmegaConf
from pydantic import BaseModel, ConfigDict, Field

from copilot.errors import UserError

POINTS_CONF = Path(__file__).resolve().parent.parent.parent.parent / "conf" / "points"

SITES: dict[str, dict[str, str]] = {
    "before_attempt": {
        "continue": "implement the attempt as planned",
        "instruct": "add the text to this attempt's instruction",
        "stop": "make no more attempts (the report is still written)",
    },
}
"""Where points can be asked, and what each action does there. Context at `before_attempt`: `attempt_id`, `kind`,
`parent`, `candidate` (the title it tests, or ""), `instruction`."""


class PointDecision(BaseModel):
    """The answer at a feedback point of one's own: an action of the point, with its text when the action needs one."""

    model_config = ConfigDict(extra="forbid")

    action: str
    text: str | None = Field(None, description="for actions that need words (an instruction)")


class FeedbackPoint(Protocol):
    """A question asked at a place of the pipeline."""

    name: str
    at: str
    actions: tuple[str, ...]
    needs_text: frozenset[str]

    def question(self, **context: Any) -> str:
        """What the human is shown, from the place's context."""
        ...


def check_decision(point: FeedbackPoint, decision: PointDecision) -> str | None:
    """Why `decision` cannot answer `point` (an unknown action, a missing or needless text), or None."""
    if decision.action not in point.actions:
        return f"action '{decision.action}' is not one of {', '.join(point.actions)}"
    if decision.action in point.needs_text and not (decision.text and decision.text.strip()):
        return f"action '{decision.action}' needs a text"
    if decision.action not in point.needs_text and decision.text:
        return f"text has no meaning for action '{decision.action}'"
    return None


def load_points(names: list[str]) -> list[FeedbackPoint]:
    """The points `names` (conf/points/<name>.yaml each), checked against the place they are asked at."""
    from hydra.utils import instantiate

    points = []
    for name in names:
        path = POINTS_CONF / f"{name}.yaml"
        if not path.is_file():
            choices = ", ".join(sorted(p.stem for p in POINTS_CONF.glob("*.yaml"))) or "none"
            raise UserError(f"feedback_points: unknown point '{name}'; choose from {choices}")
        point = instantiate(OmegaConf.load(path))
        if point.at not in SITES:
            raise UserError(f"feedback point {name}: at={point.at} is not a place points are asked "
                            f"({', '.join(SITES)})")
        unknown = [a for a in point.actions if a not in SITES[point.at]]
        if unknown or not point.actions:
            raise UserError(f"feedback point {name}: action '{(unknown or ['(none)'])[0]}' means nothing at "
                            f"{point.at} (there: {', '.join(SITES[point.at])})")
        points.append(point)
    return points
