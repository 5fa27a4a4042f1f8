"""What a rule of the problem is (`Constraint`) and how prompts show it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["allowed_imports", "forbidden_imports", "forbidden_reads", "text"]
Source = Literal["task.yaml", "problem", "llm"]


class Constraint(BaseModel):
    """One hard rule of the problem, as stated, and what a check can test of it (`kind`)."""

    rule: str = Field(description="the rule's text as the problem or task.yaml states it")
    kind: Kind = Field(description=(
        "allowed_imports: the code may import only `names` and the standard library; forbidden_imports: never "
        "`names`; forbidden_reads: the code must not open files matching `patterns`; text: not machine-checkable"))
    names: list[str] = Field(default_factory=list, description="top-level module names (import kinds)")
    patterns: list[str] = Field(default_factory=list, description="workspace path patterns, fnmatch style")
    source: Source = "problem"

    def prompt_line(self) -> str:
        """The rule as prompts show it: the words as stated, and what a check enforces when it can."""
        if self.kind == "allowed_imports":
            check = f"code may import only {', '.join(self.names)} and the Python standard library"
        elif self.kind == "forbidden_imports":
            check = f"code must not import {', '.join(self.names)}"
        elif self.kind == "forbidden_reads":
            check = f"code must not open or read {', '.join(self.patterns)}"
        else:
            return self.rule
        return f"{self.rule} ({check})"


class ConstraintSet(BaseModel):
    """The rules stage 1 found for a task, as recorded in `idea/constraints.json`."""

    constraints: list[Constraint] = Field(default_factory=list)


def prompt_lines(constraints: Iterable[Constraint]) -> list[str]:
    """One line per rule, for the `constraints` block of a prompt."""
    return [c.prompt_line() for c in constraints]
