"""`RuleCoach` (`coach=small`, the default): the rules of `copilot/coach/rules/*.yaml` (and of any `rule_dirs`),
each a data file naming its kind by `_target_`. A new rule of an existing kind is one yaml file; a new kind is one
Python class (with `name`, `event` and `__call__`) plus its yaml. Every firing is recorded (`FiringLog`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import OmegaConf

from copilot.coach.base import FiringLog, ProposedAction, Repair
from copilot.errors import UserError

log = logging.getLogger("copilot.coach")

RULES = Path(__file__).parent / "rules"
# Rules measured never to help on the real-task suite or the demos (docs/benchmarks.md, section 8): not loaded by
# default; `coach.rule_dirs=[<this folder>]` turns them back on.
DROPPED_RULES = RULES / "dropped"
EVENTS = ("run_failed", "repair", "refusal", "derive")


def load_rules(folders: list[Path], disabled: list[str]) -> list[Any]:
    """The rules of every yaml file in `folders` (in file-name order), except the `disabled` names."""
    rules = []
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"coach.rule_dirs: {folder} is not a folder")
        for path in sorted(folder.glob("*.yaml")):
            try:
                rule = instantiate(OmegaConf.load(path))
            except Exception as error:  # a user's rule file: report which one and why
                raise UserError(f"coach rule {path}: {error}") from None
            if getattr(rule, "event", None) not in EVENTS or not getattr(rule, "name", ""):
                raise UserError(f"coach rule {path}: needs a `name` and an `event` in {', '.join(EVENTS)}")
            if rule.name not in disabled:
                rules.append(rule)
    unknown = set(disabled) - {r.name for r in rules} - {p.stem for f in folders for p in f.glob("*.yaml")}
    if unknown:
        raise UserError(f"coach.disabled: unknown rule {sorted(unknown)[0]!r}")
    return rules


class RuleCoach:
    """Dispatches each event to the rules that handle it, and records what fired."""

    def __init__(self, rule_dirs: list[str] | None = None, disabled: list[str] | None = None,
                 builtin: bool = True) -> None:
        folders = ([RULES] if builtin else []) + [Path(d).expanduser() for d in rule_dirs or []]
        self.rules = load_rules(folders, list(disabled or []))
        self.firings = FiringLog()

    def bind(self, context: Any, firings: FiringLog | None = None) -> RuleCoach:
        """Give rules that need it the run's context (LLM, records, console) and record firings in `firings`."""
        if firings is not None:
            self.firings = firings
        for rule in self.rules:
            if hasattr(rule, "bind"):
                rule.bind(context)
        return self

    def _handlers(self, event: str) -> list[Any]:
        return [rule for rule in self.rules if rule.event == event]

    def begin_attempt(self, attempt_id: str) -> None:
        """Firings from now on belong to `attempt_id`."""
        self.firings.attempt = attempt_id

    def run_failed(self, output: str, earlier: list[str]) -> str:
        """The advice of every rule that has some for this failed run's output, in rule order."""
        advice = []
        for rule in self._handlers("run_failed"):
            text = rule(output, earlier)
            if text:
                self.firings.fired(rule.name, "run_failed", text)
                advice.append(text)
        return "".join(advice)

    def repair(self, code: str, output: str, script: str, earlier: list[str]) -> Repair | None:
        """The first repair a rule makes of the failed script, or None."""
        for rule in self._handlers("repair"):
            repaired = rule(code, output, script, earlier)
            if repaired is not None:
                self.firings.fired(rule.name, "repair", repaired.description)
                return repaired
        return None

    def refusal(self, action: ProposedAction) -> str | None:
        """The first refusal a rule has for `action`, or None; counted per rule in `action.refusals_so_far`."""
        for rule in self._handlers("refusal"):
            text = rule(action)
            if text:
                action.refusals_so_far[rule.name] = action.refusals_so_far.get(rule.name, 0) + 1
                self.firings.fired(rule.name, "refusal", action.tool)
                return str(text)
        return None

    def derive(self, state: Any) -> Any | None:
        """The first `Queued` event a rule derives from the attempts so far, or None."""
        for rule in self._handlers("derive"):
            queued = rule(state)
            if queued is not None:
                self.firings.fired(rule.name, "derive", f"{len(queued.candidates)} candidates of {queued.of}")
                return queued
        return None
