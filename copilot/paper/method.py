"""Which top-level section describes the paper's own method.

Not the first heading with "method" in it ("Methods for Comparison" lists the baselines): each body section is
scored by its heading and its content, and the context sections before the method (introduction, related work,
background, preliminaries) and the evaluation after it (experiments, results, conclusion) are not candidates unless
their heading also names a method or the paper itself.

- heading names a method ("Method", "Proposed Approach", "Model", "Framework", "System Design", "Our ...");
- heading names the paper's contribution: its system name (the title before a colon, or a coined word such as
  "LongEval"; only the first heading that names it: the later ones apply or evaluate it) or shares content words
  with the title ("Distillation" for "Distilling the Knowledge ...");
- a heading that starts by relating or comparing ("Relationship between ...", "Comparison of ...") is analysis;
- content: sentences such as "we propose", "our method", "we introduce";
- structure: the first candidate after the context sections.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol


class Paper(Protocol):
    """What the method chooser reads of a `copilot.paper.model.Paper` (named structurally, so the model can call the
    chooser without an import circle)."""

    @property
    def title(self) -> str:
        """The paper's title."""
        ...

    @property
    def sections(self) -> Sequence[Any]:
        """Its sections, in reading order, each with `title`, `level`, `kind` and `text`."""
        ...

METHOD_WORDS = re.compile(r"\b(methods?|methodology|approach(es)?|proposed|model(s|ing)?|framework|architectures?|"
                          r"algorithms?|design(s|ing)?|our|formulation|technique(s)?)\b", re.IGNORECASE)
CONTEXT_WORDS = re.compile(r"\b(introduction|related|background|prior|preliminar(y|ies)|literature|motivation|"
                           r"overview of (the )?(field|literature)|notation)\b", re.IGNORECASE)
EVALUATION_WORDS = re.compile(r"\b(experiments?|results?|evaluation|evaluating|analysis|analyses|discussion|"
                              r"conclusions?|future|limitations?|ablations?|stud(y|ies)|comparison|compared|baselines?|"
                              r"benchmarks?|case|findings|summary|applications?)\b", re.IGNORECASE)
ANALYSIS_START = re.compile(r"^(relationships?|relations?|connections?|comparisons?|comparing|analysis|analy[sz]ing)\b",
                            re.IGNORECASE)
OWN_WORK = re.compile(r"\b(we|this paper|this work)\s+(propose|introduce|present|describe|define|develop|design|"
                      r"formulate|build|construct|call)\b|\bour\s+(method|model|approach|framework|system|algorithm|"
                      r"architecture|technique|measure|guidelines|dataset)\b", re.IGNORECASE)
STOP = {"a", "an", "and", "the", "of", "for", "in", "on", "to", "with", "at", "by", "from", "via", "using", "towards",
        "toward", "is", "are", "its", "into", "as", "or", "new", "deep", "neural", "network", "networks", "learning",
        "large", "scale"}


def _stems(text: str) -> set[str]:
    words = re.findall(r"[a-z][a-z0-9\-]+", text.lower())
    return {w[:6] if len(w) > 6 else w.rstrip("s") for w in words if w not in STOP and len(w) > 2}


def paper_names(title: str) -> set[str]:
    """The paper's own name for its contribution: the title before a colon when it is one or two words
    ("SPECTER", "Multi-LexSum"), and coined words (inner capitals: "LongEval", "CiteSee")."""
    names = set()
    head = title.split(":", 1)[0].strip() if ":" in title else ""
    if head and len(head.split()) <= 2:
        names.add(head.lower())
    names |= {w.lower() for w in re.findall(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z]*\b", title)}
    return names


def method_section_index(paper: Paper) -> int | None:
    """The index in `paper.sections` of the top-level body section that describes the paper's method, or None."""
    names = paper_names(paper.title)
    title_stems = _stems(paper.title)
    candidates: list[tuple[float, int]] = []
    seen_context = False
    named_before = False
    first_after_context: int | None = None
    for index, section in enumerate(paper.sections):
        if section.level != 1 or section.kind != "body":
            continue
        heading = section.heading
        names_paper = any(name in heading.lower() for name in names)
        names_method = bool(METHOD_WORDS.search(heading))
        if CONTEXT_WORDS.search(heading) and not names_method and not names_paper:
            seen_context = True
            continue
        if EVALUATION_WORDS.search(heading) and not names_method and not names_paper:
            continue
        if re.search(r"\b(baselines?|compar\w*)\b", heading, re.IGNORECASE) or ANALYSIS_START.match(heading):
            continue
        body = section.text + " ".join(s.text for s in _subsections(paper, index))
        first_to_name = names_paper and not named_before
        named_before = named_before or names_paper
        score = 3.0 * names_method + 3.0 * first_to_name
        score += min(2.0, len(_stems(heading) & title_stems))
        score += min(2.0, 0.5 * len(OWN_WORK.findall(body)))
        if first_after_context is None and (seen_context or index > 0):
            first_after_context = index
            score += 1.0
        candidates.append((score, index))
    if not candidates:
        return None
    best = max(score for score, _ in candidates)
    if best <= 0:
        return None
    return next(index for score, index in candidates if score == best)


def _subsections(paper: Paper, index: int) -> list:
    level = paper.sections[index].level
    out = []
    for section in paper.sections[index + 1 :]:
        if section.level <= level:
            break
        out.append(section)
    return out
