"""The hypothesis queue: what the next attempts test, which a search policy reads.

In order: the plan's hypothesis (the one chosen at the gate, edited or not; usually the first attempt implements it,
unless the starter code had to be made to run first), the parts of the paper's method once its reproduction fell
short (`Queued` events of the journal, derived by the coach), then stage 1's other ranked hypotheses. A candidate is
offered until an attempt has tested it (the attempt's `hypothesis` is its title). The chosen hypothesis is left out
of stage 1's list by its rank in `idea/chosen.json` and by its title.
"""

from __future__ import annotations

from copilot.execution.attempt import Attempt
from copilot.execution.journal import Candidate, Queued
from copilot.idea.models import RankedHypothesis
from copilot.records import ChosenHypothesis


class HypothesisQueue:
    """Candidates to test, best first; each is offered until an attempt has tested it."""

    def __init__(self, ranked: list[RankedHypothesis] | None = None, chosen: ChosenHypothesis | None = None,
                 queued: list[Queued] | None = None, plan: Candidate | None = None) -> None:
        self.chosen = chosen
        if plan is None and chosen is not None:
            plan = Candidate(title=chosen.title, method=chosen.method, source="plan")
        self.plan = plan
        chosen_rank = chosen.rank if chosen is not None else 0  # without a gate record, the top one was taken
        chosen_title = chosen.title if chosen is not None else None
        self.stage1 = [Candidate(title=r.hypothesis.title, method=r.hypothesis.method)
                       for rank, r in enumerate(ranked or [])
                       if rank != chosen_rank and r.hypothesis.title != chosen_title]
        self.derived: list[Candidate] = []
        for event in queued or []:
            self.add(event)

    def add(self, event: Queued) -> None:
        """Put the candidates of a `Queued` event ahead of stage 1's (they are smaller steps of what was tried)."""
        self.derived += [c for c in event.candidates if c.title not in {d.title for d in self.derived}]

    def untried(self, attempts: list[Attempt]) -> list[Candidate]:
        """The candidates no attempt has tested yet, in the order they are offered."""
        tried = {a.hypothesis for a in attempts if a.hypothesis}
        return [c for c in [*([self.plan] if self.plan else []), *self.derived, *self.stage1] if c.title not in tried]

    def next(self, attempts: list[Attempt]) -> Candidate | None:
        """The next candidate to test, or None when every one has had its attempt."""
        untried = self.untried(attempts)
        return untried[0] if untried else None

    def find(self, title: str) -> Candidate | None:
        """The candidate called `title` (the plan's own hypothesis included), or None."""
        return next((c for c in [*([self.plan] if self.plan else []), *self.derived, *self.stage1] if c.title == title),
                    None)
