"""Attempt records: one node of the search tree, written to `attempts/<id>/attempt.json` when it ends.

The metric of an attempt comes only from `Measurement`, produced by the task's own evaluation run by the loop after
the experiment; `claimed_metric` (what the agent said) is kept only to be checked against it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from copilot.sandbox.base import RunResult

AttemptKind = Literal["baseline", "repair", "draft", "debug", "improve"]
AttemptStatus = Literal["ok", "failed", "invalid", "skipped"]


class Measurement(BaseModel):
    """A metric value read from the evaluation's results file (or its `METRIC name=value` stdout fallback)."""

    metric: str
    value: float
    source: Literal["results.json", "stdout"]
    extra: dict[str, float | int | str | bool | None] = Field(default_factory=dict)


class Attempt(BaseModel):
    """One experiment: the code it ran (as a diff against the starter), how it ran, and what was measured."""

    id: str = Field(description="ordered id, e.g. 'a000' for the baseline")
    parent: str | None = Field(None, description="the attempt this one modified")
    kind: AttemptKind
    instruction: str = Field("", description="what the agent was asked to do for this attempt")
    hypothesis: str = Field("", description="title of the stage-1 hypothesis this attempt tests ('' when none)")
    command: str = ""
    code_diff: str = Field("", description="unified diff of the workspace against the starter code")
    run: RunResult | None = None
    evaluation: RunResult | None = None
    measurement: Measurement | None = None
    status: AttemptStatus = "failed"
    error: str | None = Field(None, description="why the attempt failed or is invalid, one paragraph")
    claimed_metric: float | None = Field(None, description="metric the agent claimed; checked, never reported")
    unchanged: bool = Field(False, description="the episode changed no code of its parent's; nothing was run")
    agent_summary: str = ""
    started_at: str = ""
    duration_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def metric(self) -> float | None:
        """The measured metric, or None when nothing valid was measured."""
        return self.measurement.value if self.measurement and self.status == "ok" else None
