"""The attempt journal: everything stage 3 decided, so that resuming a run is replaying it.

Each attempt is written to `attempts/<id>/attempt.json` when it ends (with its code snapshot beside it); everything
else that steers the loop is one line of `execution/journal.jsonl`, appended and flushed as it happens: the human's
decision after an attempt (continue, instruct, rollback, stop), hypotheses added to the queue (the paper's method
in parts, asked of the model once), the comment at the end, and the end of the stage. `JournalState` is what the
loop knows after replaying both, so a killed run goes on exactly where it stopped, with no flag files.
"""

from __future__ import annotations

import logging
import shutil
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from copilot.execution.attempt import Attempt
from copilot.rundir import RunDir, read_jsonl, utc_now

log = logging.getLogger("copilot.execution")

JOURNAL = "execution/journal.jsonl"


class Candidate(BaseModel):
    """Something an attempt can test: the plan's hypothesis, another stage-1 hypothesis, a part of the paper's
    method, or a change to the best code proposed once the others were tested (`idea`)."""

    title: str
    method: str = ""
    source: Literal["plan", "stage1", "part", "idea"] = "stage1"


class Decision(BaseModel):
    """The human's answer after attempt `after` (`feedback.after_execution`)."""

    event: Literal["decision"] = "decision"
    after: str
    action: Literal["continue", "instruct", "rollback", "stop"]
    instruction: str | None = None
    attempt_id: str | None = None
    ts: str = Field(default_factory=utc_now)


class Queued(BaseModel):
    """Candidates added to the queue, and why (e.g. the parts of a reproduction that fell short of the baseline)."""

    event: Literal["queued"] = "queued"
    reason: str
    of: str = Field("", description="the candidate these were derived from ('' when none)")
    candidates: list[Candidate]
    ts: str = Field(default_factory=utc_now)


class Ended(BaseModel):
    """The stage finished: its report is written; `comment` is the human's, if any."""

    event: Literal["ended"] = "ended"
    attempts: int
    comment: str | None = None
    ts: str = Field(default_factory=utc_now)


Event = Annotated[Decision | Queued | Ended, Field(discriminator="event")]
EVENT = TypeAdapter(Event)


class JournalState(BaseModel):
    """The loop's state after replaying the journal."""

    attempts: list[Attempt] = Field(default_factory=list)
    stopped: bool = False
    rollback: str | None = Field(None, description="an attempt to go back to, asked for after the latest attempt")
    instruction: str | None = Field(None, description="the human's instruction for the next attempt")
    queued: list[Queued] = Field(default_factory=list)
    ended: Ended | None = None

    def derived_from(self, title: str) -> bool:
        """Whether candidates have been derived from the candidate `title` (its parts are queued)."""
        return any(q.of == title and q.candidates for q in self.queued)

    def asked_about(self, title: str) -> bool:
        """Whether a derivation from `title` was recorded, even one that gave nothing."""
        return any(q.of == title for q in self.queued)


class Journal:
    """Reads and appends the journal of one run directory."""

    def __init__(self, run: RunDir) -> None:
        self.run = run

    def replay(self) -> JournalState:
        """The recorded attempts (a half-written attempt folder from a killed run is discarded) and the events."""
        state = JournalState(attempts=self._attempts())
        latest = state.attempts[-1].id if state.attempts else ""
        path = self.run.path(JOURNAL)
        for record in read_jsonl(path) if path.is_file() else []:
            event = EVENT.validate_python(record)
            if isinstance(event, Decision):
                state.stopped = state.stopped or event.action == "stop"
                pending = event.after == latest  # no attempt has followed it yet
                state.rollback = event.attempt_id if pending and event.action == "rollback" else None
                state.instruction = event.instruction if pending and event.action == "instruct" else None
            elif isinstance(event, Queued):
                state.queued.append(event)
            else:
                state.ended = event
        return state

    def append(self, event: Decision | Queued | Ended) -> None:
        """Record one event, flushed at once."""
        self.run.jsonl(JOURNAL).write(event)

    def save_attempt(self, attempt: Attempt) -> None:
        """Write an attempt's record (atomically: a reader never sees half of it)."""
        self.run.write_json(f"attempts/{attempt.id}/attempt.json", attempt)

    def _attempts(self) -> list[Attempt]:
        attempts = []
        root = self.run.path("attempts")
        for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
            record = folder / "attempt.json"
            if record.is_file():
                attempts.append(Attempt.model_validate_json(record.read_text(encoding="utf-8")))
            else:
                log.warning("discarding unfinished attempt folder %s (the run was interrupted in it)", folder.name)
                shutil.rmtree(folder)
        return attempts
