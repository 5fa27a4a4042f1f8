"""What stage 1 reads: the paper (parsed once, kept in `idea/paper.json`, with what could not be read), the research
problem and its hard rules (`idea/constraints.json`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from copilot.errors import UserError
from copilot.idea.models import RejectedHypothesis

if TYPE_CHECKING:
    from copilot.constraints import Constraint
    from copilot.context import RunContext

log = logging.getLogger("copilot.idea")


def load_material(ctx: RunContext) -> tuple[str, Any]:
    """The text the model reads, and the Paper (None for a plain-text problem)."""
    task = ctx.task
    if ctx.run.exists("idea/paper.json"):
        from copilot.paper.model import Paper

        paper = Paper.model_validate(ctx.run.read_json("idea/paper.json"))
    elif task.paper_path is not None:
        from copilot.paper import load_paper

        paper = load_paper(task.paper_path, max_pages=int(ctx.cfg.idea.max_pages))
        ctx.run.write_json("idea/paper.json", paper)
        for warning in paper.warnings:
            log.warning("paper: %s", warning)
    else:
        paper = None
    chars = int(ctx.cfg.idea.paper_chars)
    parts = []
    if task.problem_text:
        parts.append(f"Research problem:\n{task.problem_text}")
    if paper is not None:
        notices = paper_notices(paper)
        if notices:  # the model should know it reads part of the input, as the reader of idea.md does
            parts.append("Notice: " + "; ".join(notices) + ". Base the hypotheses only on what is shown.")
        parts.append(f"Paper:\n{paper.body_text(chars)}")
    if not parts:
        raise UserError(f"task '{task.name}' has neither a paper nor a research problem to read")
    return "\n\n".join(parts), paper


def reproduction_source(paper: Any) -> str:
    """What the reproduction hypothesis is written from: the abstract (which says which method the paper found best;
    the digits paper's method section lists four families, the baseline first) and the method section; "" when the
    paper has no method section."""
    method = paper.method_text()
    if not method:
        return ""
    return f"## Abstract\n{paper.abstract}\n\n{method}" if paper.abstract else method


# Paper warnings that mean part of the input was not read (copilot/paper/pdf.py writes them); the other warnings say
# what ingestion guessed (a title from the file name), which does not leave text out.
_UNREAD = ("were read", "damaged", "may be incomplete", "no section headings", "could not be read", "not read")


def paper_notices(paper: Any) -> list[str]:
    """What idea.md must say at the top about the input (`Paper.notices`: that it does not look like a research
    paper, and what could not be read), with the ingestion warnings that say text was left out. [] when the paper
    was read in full (or there is no paper)."""
    if paper is None:
        return []
    notices = [*paper.notices(), *(w for w in paper.warnings if any(cue in w for cue in _UNREAD))]
    return list(dict.fromkeys(notices))


def load_constraints(ctx: RunContext) -> list[Constraint]:
    """The problem's hard rules (`copilot.constraints.constraints_for`, with the run's LLM for the sentences no
    phrasing rule explains), recorded in `idea/constraints.json` and reused from it on resume."""
    from copilot.constraints import ConstraintSet, constraints_for

    if ctx.run.exists("idea/constraints.json"):
        return ConstraintSet.model_validate(ctx.run.read_json("idea/constraints.json")).constraints
    rules = constraints_for(ctx.task, llm=ctx.llm)
    ctx.run.write_json("idea/constraints.json", ConstraintSet(constraints=rules))
    for rule in rules:
        log.info("rule of the problem (%s, from %s): %s", rule.kind, rule.source, rule.prompt_line())
    return rules


def read_rejected(ctx: RunContext) -> list[RejectedHypothesis]:
    """The hypotheses stage 1 rejected for breaking a rule (`idea/rejected.json`; [] when none was written)."""
    if not ctx.run.exists("idea/rejected.json"):
        return []
    return [RejectedHypothesis.model_validate(r) for r in ctx.run.read_json("idea/rejected.json")]


def other_experiment_code(task: Any, max_chars: int = 3000, max_lines: int = 60) -> str:
    """The experiment's other Python files, head first, for the prompts ("" when there are none): the workspace
    description shows only the script the run command runs, and the code a hypothesis must change may live
    elsewhere (a `run.py` that calls `bilateral_filter` in `smooth.py`). The evaluation's and the read-only files are
    left out; files beyond `max_chars` in all are only named."""
    from copilot.constraints import not_experiment_code

    root = task.workspace
    excluded = set(not_experiment_code(task)) | {w for w in task.spec.run.split() if w.endswith(".py")}
    hidden = set(task.spec.hidden)
    parts, used, skipped = [], 0, []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative in excluded or relative in hidden or any(p.startswith(".") or p == "__pycache__"
                                                              for p in path.relative_to(root).parts):
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:max_lines]
        text = "\n".join(lines)
        if used + len(text) > max_chars:
            skipped.append(relative)
            continue
        used += len(text)
        parts.append(f"\n{relative} (first {len(lines)} lines):\n{text}")
    if skipped:
        parts.append(f"\n(also: {', '.join(skipped)})")
    return "".join(parts)
