"""Search policies: which attempt to make next. One file per policy; `conf/search/<name>.yaml` names it by
`_target_`. A new policy is one file with a class that has `next_step(state) -> NextStep` and one yaml."""

from copilot.execution.policies.base import NextStep, SearchPolicy, SearchState, best_attempt

__all__ = ["NextStep", "SearchPolicy", "SearchState", "best_attempt"]
