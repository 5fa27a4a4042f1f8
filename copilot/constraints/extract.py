"""Reading the rules out of task.yaml and the problem text (common phrasings; an optional LLM pass for the rest)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from copilot.constraints.model import Constraint, Kind, Source
from copilot.constraints.vocabulary import FILE_PATTERN, LIBRARY_NAMES, library_modules, normal_path

if TYPE_CHECKING:
    from copilot.llm import LLM
    from copilot.task import Task

log = logging.getLogger("copilot.constraints")


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'`])|\n\s*[-*\u2022]\s+|\n\s*\n")
_NEGATION = (r"\b(?:do\s+not|don'?t|does\s+not|never|must\s+not|mustn'?t|should\s+not|shouldn'?t|may\s+not|cannot|"
             r"can'?t|(?:is|are)\s+not\s+allowed\s+to|not\s+allowed\s+to|(?:is|are)\s+forbidden\s+to)")
_READ_VERB = r"(?:read|open|load|look\s+at|peek\s+at|access|inspect|view|use|touch|parse)"
# "never read", "never try to read", "must not, at any point, read": up to five words between the two.
_FORBID_READ = re.compile(_NEGATION + r"(?:\W+\w+){0,5}?\W+" + _READ_VERB + r"\b(?P<rest>.*)", re.I | re.S)
_FORBID_USE = re.compile(_NEGATION + r"\s+(?:try\s+to\s+)?(?:use|import|call|rely\s+on|install)\b(?P<rest>.*)",
                         re.I | re.S)
_WITHOUT = re.compile(r"\bwithout\s+(?:using\s+|importing\s+|the\s+help\s+of\s+)?(?P<rest>.*)", re.I | re.S)
_NOT_ALLOWED = re.compile(r"(?P<rest>.*?)\b(?:is|are)\s+(?:not\s+(?:allowed|permitted)|forbidden|prohibited|banned)\b",
                          re.I | re.S)
_ONLY_USE = re.compile(r"\b(?:(?:use|using|uses)\s+only|only\s+(?:use|using|import))\b(?P<rest>.*)", re.I | re.S)
_ONLY_WITH = re.compile(r"\bwith\s+only\b(?P<rest>.*)", re.I | re.S)
_CLAUSE_END = re.compile(r"[;:()\[\]]|\.(?:\s|$)|\b(?:but|except|instead|so\s+that|because|while|which|to\s+make)\b",
                         re.I)
_EXT_FILES = re.compile(r"\b(csv|tsv|json|jsonl|npy|npz|parquet|pickle|pkl|excel|xlsx|text|txt|image|h5|hdf5)\s+"
                        r"files?\b", re.I)
_FOLDER = re.compile(r"\b(?:in|under|inside|from|within)\s+(?:the\s+)?`?(?P<dir>[\w.-]+(?:/[\w.-]+)*)/?`?\s+"
                     r"(?:folder|directory|dir)\b", re.I)
_SLASHED_FOLDER = re.compile(r"(?<![\w/.-])`?(?P<dir>[\w.-]+(?:/[\w.-]+)*)/`?(?![\w.*-])")
_EXT_ALIASES = {"excel": "xlsx", "text": "txt", "pickle": "pkl", "image": "png"}


def _clause(text: str) -> str:
    """`text` up to the end of its first clause (a semicolon, a bracket, a full stop, 'but', 'except', ...)."""
    match = _CLAUSE_END.search(text)
    return text[: match.start()] if match else text


def file_patterns(text: str) -> list[str]:
    """The files a rule's object names: paths ("data/test.csv"), kinds of file ("the csv files" -> *.csv) and folders
    ("the files in the reference folder", "reference/" -> reference/*)."""
    patterns = [normal_path(m.group("path")) for m in FILE_PATTERN.finditer(text)]
    patterns += [f"*.{_EXT_ALIASES.get(m.group(1).lower(), m.group(1).lower())}" for m in _EXT_FILES.finditer(text)]
    for match in [*_FOLDER.finditer(text), *_SLASHED_FOLDER.finditer(text)]:
        folder = match.group("dir").strip("/")
        if folder and folder.lower() not in {"the", "a", "this", "that", "your", "any", "and", "or"}:
            patterns.append(f"{folder}/*")
    return list(dict.fromkeys(patterns))


def _sentence_rules(rule: str, source: Source) -> list[Constraint]:
    """The rules one sentence states (see `extract_constraints`)."""
    found: list[Constraint] = []
    cued = False  # the sentence is phrased as a rule, whether or not a check can test it
    for pattern in (_ONLY_USE, _ONLY_WITH):
        match = pattern.search(rule)
        if match:
            names = library_modules(_clause(match.group("rest")))
            if names:
                found.append(Constraint(rule=rule, kind="allowed_imports", names=names, source=source))
            cued = cued or pattern is _ONLY_USE
            break
    read = _FORBID_READ.search(rule)
    if read:
        patterns = file_patterns(_clause(read.group("rest")))
        if patterns:
            found.append(Constraint(rule=rule, kind="forbidden_reads", patterns=patterns, source=source))
        cued = True
    forbidden: list[str] = []
    for pattern in (_FORBID_USE, _WITHOUT):
        match = pattern.search(rule)
        if match:
            forbidden += library_modules(_clause(match.group("rest")))
    not_allowed = _NOT_ALLOWED.search(rule)
    if not_allowed:
        forbidden += library_modules(not_allowed.group("rest")[-80:])
        cued = True
    allowed = {name for c in found if c.kind == "allowed_imports" for name in c.names}
    forbidden = [name for name in dict.fromkeys(forbidden) if name not in allowed]
    if forbidden:
        found.append(Constraint(rule=rule, kind="forbidden_imports", names=forbidden, source=source))
    if cued and not found:
        found.append(Constraint(rule=rule, kind="text", source=source))
    return found


def extract_constraints(text: str, source: Source = "problem") -> list[Constraint]:
    """The rules `text` states in the common phrasings: "using only the numpy library" (allowed imports), "do not use
    scipy, numba or opencv" / "without PyTorch" / "X is not allowed" (forbidden imports), "never read the csv files
    directly" / "must not ... read data/test.csv" (forbidden reads); a sentence phrased as such a rule whose object
    is not a library or a file ("do not use pretrained weights") is a text rule. Other sentences give none."""
    found: list[Constraint] = []
    for sentence in _SENTENCE.split(text):
        rule = " ".join(sentence.split())
        if rule:
            found += _sentence_rules(rule, source)
    return _merge(found)


def _merge(constraints: Iterable[Constraint]) -> list[Constraint]:
    """Drop exact repeats (same kind, rule and targets), keeping the first."""
    seen: set[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = set()
    out = []
    for c in constraints:
        key = (c.kind, c.rule.lower(), tuple(c.names), tuple(c.patterns))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


_CUE = re.compile(r"\b(?:only|never|must|mustn'?t|do\s+not|don'?t|should\s+not|not\s+allowed|forbidden|prohibited|"
                  r"without|may\s+not|cannot|can'?t)\b", re.I)


def unexplained_rule_sentences(text: str, constraints: Sequence[Constraint]) -> list[str]:
    """Sentences of `text` that sound like a rule (only, never, must, do not, ...) but gave no extracted rule: what
    the optional LLM pass is asked about."""
    covered = {c.rule for c in constraints}
    sentences = [" ".join(s.split()) for s in _SENTENCE.split(text) if s.strip()]
    return [s for s in sentences if _CUE.search(s) and s not in covered]


class StatedRule(BaseModel):
    """One rule of the problem as the model reads it (the LLM pass of `constraints_for`)."""

    quote: str = Field(max_length=400, description="the sentence of the problem that states the rule, verbatim")
    kind: Kind
    names: list[str] = Field(default_factory=list, max_length=8,
                             description="library names, for allowed_imports / forbidden_imports")
    patterns: list[str] = Field(default_factory=list, max_length=8,
                                description="file names or patterns such as *.csv, for forbidden_reads")


class StatedRules(BaseModel):
    """The model's reply: every hard rule the problem states ([] when it states none)."""

    rules: list[StatedRule] = Field(default_factory=list, max_length=8)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w*./-]+", " ", text.lower()).split())


def _rules_from_llm(problem: str, sentences: list[str], llm: LLM) -> list[Constraint]:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from copilot.llm import Message

    # The template sits with stage 1's prompts: stage 1 is where a problem's rules are first read.
    templates = Environment(loader=FileSystemLoader(Path(__file__).parent.parent / "idea" / "prompts"),
                            undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    prompt = templates.get_template("constraints.j2").render(problem=problem, sentences=sentences)
    reply = llm.complete([Message(role="user", content=prompt)], StatedRules, max_tokens=1024,
                         purpose="idea.constraints").parsed
    kept: list[Constraint] = []
    haystack = _normal(problem)
    for stated in reply.rules:
        quote = " ".join(stated.quote.split())
        if not quote or _normal(quote) not in haystack:
            log.info("constraints: the model's rule %r is not in the problem text; dropped", quote[:80])
            continue
        names = [LIBRARY_NAMES.get(n.lower().strip(), "") for n in stated.names]
        names = [n for n in dict.fromkeys(names) if n]
        patterns = [p.strip().strip("`'\"") for p in stated.patterns if p.strip()]
        kind: Kind = stated.kind
        if (kind in ("allowed_imports", "forbidden_imports") and not names) or (
                kind == "forbidden_reads" and not patterns):
            kind, names, patterns = "text", [], []
        kept.append(Constraint(rule=quote, kind=kind, names=names if kind != "forbidden_reads" else [],
                               patterns=patterns if kind == "forbidden_reads" else [], source="llm"))
    return kept


def constraints_for(task: Task, llm: LLM | None = None) -> list[Constraint]:
    """The task's hard rules: task.yaml's `constraints` (each read like problem text; a rule in no known form is a
    text rule), then the ones the problem text states. With `llm`, the problem's rule-like sentences that gave
    nothing are shown to it in one structured request; its rules are kept only when they quote the problem, and are
    recorded with `source="llm"`."""
    rules: list[Constraint] = []
    for stated in task.spec.constraints:
        extracted = extract_constraints(stated, source="task.yaml")
        rules += extracted or [Constraint(rule=" ".join(stated.split()), kind="text", source="task.yaml")]
    problem = task.problem_text or ""
    if problem.strip():
        from_problem = extract_constraints(problem, source="problem")
        rules += from_problem
        leftover = unexplained_rule_sentences(problem, from_problem)
        if llm is not None and leftover:
            rules += _rules_from_llm(problem, leftover, llm)
    return _merge(rules)


