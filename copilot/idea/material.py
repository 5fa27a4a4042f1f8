"""What stage 1 reads: the paper (parsed once, kept in `idea/paper.json`) and the research problem."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from copilot.errors import UserError

if TYPE_CHECKING:
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
