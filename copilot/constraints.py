"""The research problem's hard rules ("using only the numpy library", "never read the csv files directly"): what they
are, where they come from, and the static checks that tell whether text or code breaks one.

A rule comes from task.yaml's `constraints` or from the problem text (deterministic extraction of the common
phrasings; an optional structured LLM pass for the rest, recorded as `source="llm"` and kept only when it quotes the
problem). Stage 1 rejects hypotheses that break one (`text_violations`); stage 2 and 3 put the rules in every
implementation prompt (`prompt_lines`) and mark an attempt whose code breaks one `invalid` (`violations`).

The code checks are static (`ast`): imports (`import x`, `from x import y`, `importlib.import_module("x")`,
`__import__("x")` with literal names) and reads of files whose path is a literal (`open`, `pd.read_csv`, `np.load`,
`Path(...).read_text()`, ...). A comment or a string that names a library is not an import, the standard library and
the workspace's own modules are always allowed, and what the starter code itself does is allowed by the task (a
MLAgentBench problem says "never read any csv files directly" of a starter that reads its csv files with pandas: the
rule is about the agent looking at the data, not about the code the task gave). Paths built at run time are not
followed; the checks are precise rather than complete.
"""

from __future__ import annotations

import ast
import fnmatch
import logging
import posixpath
import re
import shlex
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from copilot.sandbox.packages import KNOWN_PACKAGES, PROSE_NAMES

if TYPE_CHECKING:
    from copilot.llm import LLM
    from copilot.task import Task

log = logging.getLogger("copilot.constraints")

Kind = Literal["allowed_imports", "forbidden_imports", "forbidden_reads", "text"]
Source = Literal["task.yaml", "problem", "llm"]
STDLIB = frozenset(sys.stdlib_module_names)
SKIP_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints", ".venv", "venv", "site-packages", "node_modules"})

# Prose names of libraries -> top-level import name. Built on the sandbox's package list, plus libraries problems
# forbid by name that no ML package list carries (numba, opencv, cupy, ...).
LIBRARY_NAMES: dict[str, str] = {
    **{name: name for name in KNOWN_PACKAGES},
    **{prose: module for module, proses in PROSE_NAMES.items() for prose in proses},
    "scikit learn": "sklearn", "sci-kit learn": "sklearn", "tensorflow": "tensorflow", "tf.keras": "tensorflow",
    "hugging face transformers": "transformers", "huggingface transformers": "transformers",
    "sentence transformers": "sentence_transformers", "sentencetransformers": "sentence_transformers",
    "numba": "numba", "opencv": "cv2", "cv2": "cv2", "open-cv": "cv2", "cupy": "cupy", "polars": "polars",
    "dask": "dask", "jaxlib": "jax", "flax": "flax", "pillow": "PIL", "pil": "PIL", "seaborn": "seaborn",
    "plotly": "plotly", "networkx": "networkx", "sympy": "sympy", "cython": "cython", "theano": "theano",
    "mxnet": "mxnet", "paddle": "paddle", "onnx": "onnx", "onnxruntime": "onnxruntime", "timm": "timm",
    "accelerate": "accelerate", "lightning": "lightning", "pytorch lightning": "lightning", "pytorch-lightning":
    "lightning", "fastai": "fastai", "skimage": "skimage", "scikit-image": "skimage", "imageio": "imageio",
    "torchvision": "torchvision", "torchaudio": "torchaudio", "librosa": "librosa", "numexpr": "numexpr",
    "pyarrow": "pyarrow", "h5py": "h5py", "joblib": "joblib", "tqdm": "tqdm", "requests": "requests",
}
STDLIB_PHRASE = re.compile(r"\b(?:python'?s?\s+)?(?:standard|built-?in)\s+librar(?:y|ies)\b|\bstdlib\b", re.I)
# `name`, `name.` or `name's` as a whole word; names are tried longest first so "pytorch lightning" wins over "pytorch".
_NAME_PATTERN = re.compile(
    r"(?<![\w.-])(" + "|".join(re.escape(n) for n in sorted(LIBRARY_NAMES, key=len, reverse=True)) + r")(?![\w-])",
    re.I)


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


# ---------------------------------------------------------------------------------------------------------- extraction

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
_EXTENSIONS = (r"csv|tsv|json|jsonl|npy|npz|txt|parquet|pkl|pickle|h5|hdf5|xlsx|xls|feather|arrow|pt|pth|bin|zip|gz|"
               r"tar|yaml|yml|png|jpg|jpeg|wav|mat|py")
_FILE = re.compile(r"(?<![\w/.*-])(?P<path>(?:[\w.-]+/)*[\w*-]+\.(?:" + _EXTENSIONS + r"))(?![\w-])", re.I)
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


def library_modules(text: str) -> list[str]:
    """The top-level modules of the libraries `text` names (prose names included: PyTorch -> torch), in order."""
    found: list[str] = []
    for match in _NAME_PATTERN.finditer(text):
        module = LIBRARY_NAMES[match.group(1).lower()]
        if module not in found:
            found.append(module)
    return found


def file_patterns(text: str) -> list[str]:
    """The files a rule's object names: paths ("data/test.csv"), kinds of file ("the csv files" -> *.csv) and folders
    ("the files in the reference folder", "reference/" -> reference/*)."""
    patterns = [_normal_path(m.group("path")) for m in _FILE.finditer(text)]
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
    templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "idea" / "prompts"),
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


# ------------------------------------------------------------------------------------------------------- text checks

# Library names that are also plain words ("Vision Transformers", "the datasets"): in prose they count as the library
# only with a code cue (`transformers`, transformers.AutoModel, "the transformers library", "import datasets").
AMBIGUOUS_NAMES = frozenset({"transformers", "datasets", "lightning", "accelerate", "requests", "paddle", "pillow",
                             "polars", "flax", "dask"})
_NEGATION_CUE = re.compile(r"\b(?:not|no|without|instead\s+of|rather\s+than|avoid(?:ing|s)?|replac(?:e|es|ing)|"
                           r"drop(?:ping|s)?|remov(?:e|es|ing)|unlike|never|nor|free\s+of|than)\b", re.I)
_AFFIRMING = re.compile(r"\b(?:with|by|using|into|to|and\s+use)\b", re.I)
_CODE_CUE_BEFORE = re.compile(r"(?:`|\bimport\s+|\bfrom\s+|hugging\s*face'?s?\s+)$", re.I)
_CODE_CUE_AFTER = re.compile(r"^(?:`|\.\w|\s+(?:library|package|module)\b)", re.I)
_READER_CALL = re.compile(r"\b(?:pd\.|pandas\.)?read_(csv|table|json|parquet|excel|pickle|feather|hdf)\b|"
                          r"\b(?:np\.|numpy\.)(load|loadtxt|genfromtxt)\b", re.I)
_READER_EXT = {"csv": "csv", "table": "csv", "json": "json", "parquet": "parquet", "excel": "xlsx", "pickle": "pkl",
               "feather": "feather", "hdf": "h5", "load": "npy", "loadtxt": "txt", "genfromtxt": "csv"}


def _negated(before: str) -> bool:
    """Whether the words just before a mention put it in a negation: "without scipy", "instead of PyTorch",
    "replace torch with ..." (but not "replace the model with PyTorch's ...": after "with" it is what is used)."""
    window = before[-60:]
    cues = list(_NEGATION_CUE.finditer(window))
    if not cues:
        return False
    between = window[cues[-1].end():]
    return len(between.split()) <= 4 and not _AFFIRMING.search(between)


def mentioned_modules(text: str) -> list[tuple[str, str]]:
    """(module, the words first used for it) for each library `text` proposes to use: negated mentions ("without
    scipy") and plain-word uses of ambiguous names ("Vision Transformers") left out."""
    found: list[tuple[str, str]] = []
    for match in _NAME_PATTERN.finditer(text):
        words = match.group(1)
        module = LIBRARY_NAMES[words.lower()]
        if _negated(text[: match.start()]):
            continue
        if module in AMBIGUOUS_NAMES and words.lower() == module and not (
                _CODE_CUE_BEFORE.search(text[max(0, match.start() - 20): match.start()])
                or _CODE_CUE_AFTER.search(text[match.end(): match.end() + 12])):
            continue
        if module not in {m for m, _ in found}:
            found.append((module, words))
    return found


def _same_file(a: str, b: str) -> bool:
    """Whether two spellings name the same workspace file (one may omit the folder: train.csv, data/train.csv)."""
    a, b = _normal_path(a).lower(), _normal_path(b).lower()
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def text_violations(text: str, constraints: Sequence[Constraint], allowed_reads: Collection[str] = ()) -> list[str]:
    """Why `text` (a hypothesis' title and method, a plan step) breaks a rule: it proposes a library the rules forbid
    or do not allow, or reading a file the code must not read (the starter's own reads, `allowed_reads`, excepted).
    [] when it breaks none that can be checked."""
    reasons: list[str] = []
    mentioned = mentioned_modules(text)
    for c in constraints:
        if c.kind == "allowed_imports":
            for module, words in mentioned:
                if module not in c.names and module not in STDLIB:
                    reasons.append(f"uses {words}, but the rule allows only {', '.join(c.names)} and the standard "
                                   f"library: \"{c.rule}\"")
        elif c.kind == "forbidden_imports":
            reasons += [f"uses {words}, which the rule forbids: \"{c.rule}\"" for module, words in mentioned
                        if module in c.names]
        elif c.kind == "forbidden_reads":
            for match in _FILE.finditer(text):
                path = match.group("path")
                if any(_matches(_normal_path(path), p) for p in c.patterns) and not any(
                        _same_file(path, r) for r in allowed_reads):
                    reasons.append(f"reads {path}, which the rule forbids: \"{c.rule}\"")
            starter_exts = {posixpath.splitext(r)[1].lstrip(".").lower() for r in allowed_reads}
            for match in _READER_CALL.finditer(text):
                ext = _READER_EXT[(match.group(1) or match.group(2)).lower()]
                if ext not in starter_exts and any(_matches(f"file.{ext}", p) for p in c.patterns):
                    reasons.append(f"reads files with {match.group(0)}, which the rule forbids: \"{c.rule}\"")
    return list(dict.fromkeys(reasons))


# ------------------------------------------------------------------------------------------------------- code checks

READER_FUNCTIONS = frozenset({
    "open", "read_csv", "read_table", "read_json", "read_parquet", "read_excel", "read_pickle", "read_feather",
    "read_hdf", "read_fwf", "read_orc", "read_sas", "read_stata", "read_spss", "read_xml", "read_html", "load",
    "loadtxt", "genfromtxt", "fromfile", "memmap", "load_npz", "loadmat", "imread", "read_image", "load_from_disk",
    "load_svmlight_file", "read_text", "read_bytes", "File",
})
PATH_METHODS = frozenset({"read_text", "read_bytes", "open"})
PATH_CONSTRUCTORS = frozenset({"Path", "PurePath", "PosixPath", "PurePosixPath"})
_WRITE_MODE = re.compile(r"[wax]")


def _normal_path(path: str) -> str:
    normal = posixpath.normpath(path.replace("\\", "/"))
    while normal.startswith("../"):
        normal = normal[3:]
    return normal


def _matches(path: str, pattern: str) -> bool:
    """Whether a workspace path matches a rule's pattern: a pattern without a folder ("*.csv", "test.csv") matches the
    file's name anywhere; one with a folder ("data/test.csv", "reference/*") matches the path (or its end)."""
    pattern = _normal_path(pattern.rstrip("/") + ("/*" if pattern.endswith("/") else ""))
    if "/" not in pattern:
        return fnmatch.fnmatch(posixpath.basename(path).lower(), pattern.lower())
    lowered = path.lower()
    return fnmatch.fnmatch(lowered, pattern.lower()) or fnmatch.fnmatch(lowered, "*/" + pattern.lower())


class _Finder(ast.NodeVisitor):
    """Collects a module's imports and its reads of literal paths, with line numbers."""

    def __init__(self) -> None:
        self.imports: list[tuple[int, str]] = []
        self.reads: list[tuple[int, str, str]] = []  # line, path, the call's name
        self.strings: dict[str, str] = {}
        self.importlib_names = {"import_module"}

    def collect_strings(self, tree: ast.AST) -> None:
        """Names bound once to a literal path (`TEST = "data/test.csv"`), so `pd.read_csv(TEST)` is a literal read."""
        bound: dict[str, list[str | None]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                bound.setdefault(node.targets[0].id, []).append(self.literal(node.value))
        self.strings = {name: values[0] for name, values in bound.items() if len(values) == 1 and values[0]}

    def literal(self, node: ast.AST | None) -> str | None:
        """The path `node` spells when it is built from literals (an f-string field becomes `{}`), else None."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            pieces = [str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values]
            return "".join(pieces) if any(isinstance(v, ast.Constant) for v in node.values) else None
        if isinstance(node, ast.Name):
            return self.strings.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self.literal(node.left), self.literal(node.right)
            return f"{left}/{right}" if left is not None and right is not None else None
        if isinstance(node, ast.Call):
            name = _call_name(node.func)
            if name in PATH_CONSTRUCTORS or name == "join":
                parts = [self.literal(a) for a in node.args]
                known = [part for part in parts if part is not None]
                if known and len(known) == len(parts):
                    return "/".join(part for part in known if part)
        return None

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append((node.lineno, alias.name.split(".")[0]))
            if alias.name == "importlib" and alias.asname:
                self.importlib_names.add(f"{alias.asname}.import_module")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.imports.append((node.lineno, node.module.split(".")[0]))
            if node.module == "importlib":
                self.importlib_names |= {a.asname or a.name for a in node.names if a.name == "import_module"}

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node.func)
        dotted = _dotted(node.func)
        if name == "__import__" or name == "import_module" or dotted in self.importlib_names:
            target = self.literal(node.args[0]) if node.args else None
            if target and not target.startswith("."):
                self.imports.append((node.lineno, target.split(".")[0]))
        elif name in PATH_METHODS and isinstance(node.func, ast.Attribute) and self.literal(node.func.value):
            path = self.literal(node.func.value)
            if path is not None and not (name == "open" and _writes(node, mode_position=0)):
                self.reads.append((node.lineno, path, f"Path(...).{name}"))
        elif name in READER_FUNCTIONS:
            first = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg in {"file", "filepath_or_buffer", "fname", "path", "filename",
                                                             "path_or_buf", "io", "f"}), None)
            path = self.literal(first)
            if path is not None and not (name == "open" and _writes(node, mode_position=1)):
                self.reads.append((node.lineno, path, dotted or name))
        self.generic_visit(node)


def _call_name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _dotted(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        base = _dotted(func.value)
        return f"{base}.{func.attr}" if base else func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _writes(node: ast.Call, mode_position: int) -> bool:
    """Whether an `open` call opens for writing only (a literal mode with w/a/x and no r or +)."""
    mode_node = node.args[mode_position] if len(node.args) > mode_position else next(
        (k.value for k in node.keywords if k.arg == "mode"), None)
    if not (isinstance(mode_node, ast.Constant) and isinstance(mode_node.value, str)):
        return False
    mode = mode_node.value
    return bool(_WRITE_MODE.search(mode)) and "r" not in mode and "+" not in mode


def _python_files(files: Mapping[str, str] | Path, exclude: Collection[str]) -> dict[str, str]:
    """Relative path -> source of every Python file, the `exclude`d paths and patterns left out."""
    if isinstance(files, Path):
        root = files
        found = {}
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            if SKIP_DIRS & set(relative.parts) or any(part.startswith(".") for part in relative.parts[:-1]):
                continue
            found[relative.as_posix()] = path.read_text(encoding="utf-8", errors="replace")
    else:
        found = {_normal_path(k): v for k, v in files.items() if k.endswith(".py")}
    return {k: v for k, v in found.items() if not any(_matches(k, p) or k == _normal_path(p) for p in exclude)}


def _local_modules(paths: Iterable[str]) -> set[str]:
    """Module names the workspace's own files provide (`smooth.py` -> smooth, `pkg/x.py` -> pkg and x)."""
    names: set[str] = set()
    for path in paths:
        parts = path.split("/")
        names.add(parts[0].removesuffix(".py"))
        names.add(parts[-1].removesuffix(".py"))
    return names


def _findings(sources: Mapping[str, str]) -> dict[str, _Finder]:
    out = {}
    for path, source in sources.items():
        try:
            tree = ast.parse(source, filename=path)
        except (SyntaxError, ValueError):
            continue  # the run itself will fail and say so; nothing here can be checked
        finder = _Finder()
        finder.collect_strings(tree)
        finder.visit(tree)
        out[path] = finder
    return out


def _raw_violations(sources: Mapping[str, str], constraints: Sequence[Constraint],
                    local_names: set[str]) -> list[tuple[tuple[str, str, str], str, int, str]]:
    """(key, path, line, message) per violation; the key (rule, path, target) ignores line numbers, so a starter's
    own violation is recognised after the file changed."""
    out = []
    for path, finder in _findings(sources).items():
        for c in constraints:
            if c.kind == "allowed_imports":
                allowed = set(c.names) | STDLIB | local_names
                for line, module in finder.imports:
                    if module not in allowed:
                        out.append(((c.rule, path, module), path, line,
                                     f"imports {module}, but only {', '.join(c.names)} and the standard library are "
                                     f"allowed"))
            elif c.kind == "forbidden_imports":
                for line, module in finder.imports:
                    if module in c.names and module not in local_names:
                        out.append(((c.rule, path, module), path, line, f"imports {module}, which is forbidden"))
            elif c.kind == "forbidden_reads":
                base = posixpath.dirname(path)
                for line, target, call in finder.reads:
                    resolved = _normal_path(posixpath.join(base, target)) if not target.startswith("/") else target
                    if any(_matches(resolved, p) or _matches(_normal_path(target), p) for p in c.patterns):
                        out.append(((c.rule, path, resolved), path, line,
                                     f"reads {target} ({call}), which is forbidden"))
    return out


def violations(files: Mapping[str, str] | Path, constraints: Sequence[Constraint], exclude: Collection[str] = (),
               baseline: Mapping[str, str] | Path | None = None) -> list[str]:
    """Each way the experiment's Python code breaks a checkable rule, one line each:
    `train.py:3: imports torch, but only numpy and the standard library are allowed (rule: "...")`.

    `files` is the workspace folder or a mapping of relative path -> source. `exclude` names the files that are not
    the experiment's code (the evaluation script, read-only files; paths or fnmatch patterns). `baseline` is the
    starter code (folder or mapping): what it already does is allowed by the task, so the same import or read of the
    same file in the same file is not reported. Text rules are never checked here."""
    checkable = [c for c in constraints if c.kind != "text"]
    if not checkable:
        return []
    sources = _python_files(files, exclude)
    local_names = _local_modules(sources)
    allowed_keys: set[tuple[str, str, str]] = set()
    if baseline is not None:
        starter = _python_files(baseline, exclude)
        local_names |= _local_modules(starter)
        allowed_keys = {key for key, *_ in _raw_violations(starter, checkable, local_names)}
    lines = []
    for key, path, line, message in _raw_violations(sources, checkable, local_names):
        if key not in allowed_keys:
            lines.append(f"{path}:{line}: {message} (rule: \"{key[0]}\")")
    return lines


def starter_reads(files: Mapping[str, str] | Path, exclude: Collection[str] = ()) -> list[str]:
    """The workspace paths the starter code reads by a literal path (resolved against the reading file's folder):
    what `text_violations` exempts, since the task's own code reads them."""
    reads = []
    for path, finder in _findings(_python_files(files, exclude)).items():
        base = posixpath.dirname(path)
        reads += [_normal_path(posixpath.join(base, target)) for _, target, _ in finder.reads]
    return list(dict.fromkeys(reads))


def not_experiment_code(task: Task) -> list[str]:
    """The workspace files that belong to the task, not to the experiment: the Python scripts of the evaluation
    command and the read-only files. `violations` leaves them out."""
    try:
        words = shlex.split(task.spec.evaluate)
    except ValueError:
        words = task.spec.evaluate.split()
    scripts = [word for word in words if word.endswith(".py")]
    return list(dict.fromkeys([*scripts, *task.spec.read_only]))


def attempt_violations(task: Task, workspace: Path, constraints: Sequence[Constraint]) -> list[str]:
    """The rules an attempt's code in `workspace` breaks, one line each ([] when none): the experiment's Python
    files checked against `constraints`, the evaluation and read-only files left out, and what the starter code in
    `task.workspace` already does allowed. The execution loop marks an attempt with any such line `invalid`."""
    return violations(workspace, constraints, exclude=not_experiment_code(task), baseline=task.workspace)


def permitted_packages(packages: list[str] | None, constraints: Sequence[Constraint]) -> list[str] | None:
    """The importable `packages` the rules let the experiment use (what prompts should list: the embedded model
    reads "packages the experiment can import: ..., torch" as an invitation, whatever the rules say); None when the
    sandbox's packages are unknown."""
    if packages is None:
        return None
    allowed = [set(c.names) for c in constraints if c.kind == "allowed_imports"]
    forbidden = {name for c in constraints if c.kind == "forbidden_imports" for name in c.names}
    return [p for p in packages if p not in forbidden and all(p in names for names in allowed)]
