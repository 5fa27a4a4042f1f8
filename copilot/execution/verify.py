"""Verification of what is reported: claimed metrics against the records, and the best attempt re-executed."""

from __future__ import annotations

import math

from pydantic import BaseModel

from copilot.execution.attempt import Attempt
from copilot.task import MetricSpec


class ClaimCheck(BaseModel):
    """A metric the agent claimed for an attempt, against the measured one."""

    attempt_id: str
    claimed: float
    recorded: float | None
    ok: bool
    note: str


class Reexecution(BaseModel):
    """The best attempt run again from a clean copy: recorded versus reproduced metric."""

    attempt_id: str
    recorded: float | None
    reproduced: float | None
    ok: bool
    tolerance: float
    note: str


def compare_reproduction(recorded: float | None, reproduced: float | None, tolerance: float) -> bool:
    """Equal within a relative tolerance (with a small absolute floor for values near zero)."""
    if recorded is None or reproduced is None:
        return False
    return math.isclose(recorded, reproduced, rel_tol=tolerance, abs_tol=1e-9)


def judge_reexecution(metric: MetricSpec, recorded: float | None, reproduced: float | None,
                      tolerance: float) -> tuple[bool, str]:
    """Whether a re-run confirms the recorded number, and why: equal within the tolerance, or better than recorded.

    A re-run that did better than recorded confirms every claim the recorded number supports (CPU time on a busy
    machine varies more than any fixed tolerance); the recorded, worse number stays the one reported.
    """
    if recorded is None or reproduced is None:
        return False, "nothing to compare"
    if compare_reproduction(recorded, reproduced, tolerance):
        return True, "reproduced"
    if metric.better(reproduced, recorded):
        return True, (f"the re-run did better ({reproduced:.6g}) than recorded; the recorded {recorded:.6g} is the "
                      "number reported")
    return False, "the metric differs beyond the tolerance"


def check_claims(attempts: list[Attempt], claims: dict[str, float], tolerance: float) -> list[ClaimCheck]:
    """Every claim compared with the recorded measurement of its attempt."""
    by_id = {a.id: a for a in attempts}
    checks = []
    for attempt_id, claimed in sorted(claims.items()):
        attempt = by_id.get(attempt_id)
        recorded = attempt.metric if attempt else None
        if attempt is None:
            note = "no such attempt"
        elif recorded is None:
            note = f"nothing was measured for this attempt ({attempt.status})"
        elif compare_reproduction(recorded, claimed, tolerance):
            note = "matches the measurement"
        else:
            note = f"differs from the measurement ({recorded:.6g})"
        checks.append(ClaimCheck(attempt_id=attempt_id, claimed=claimed, recorded=recorded,
                                 ok=recorded is not None and compare_reproduction(recorded, claimed, tolerance),
                                 note=note))
    return checks
