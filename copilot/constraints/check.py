"""Whether text or code breaks a rule: hypothesis and plan text (library names, file names) and the
experiment's Python code (imports and literal reads, found with `ast`)."""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from copilot.constraints.model import Constraint
from copilot.constraints.vocabulary import FILE_PATTERN, STDLIB, mentioned_modules, normal_path, path_matches, same_file

if TYPE_CHECKING:
    from copilot.task import Task

SKIP_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints", ".venv", "venv", "site-packages", "node_modules"})
_READER_CALL = re.compile(r"\b(?:pd\.|pandas\.)?read_(csv|table|json|parquet|excel|pickle|feather|hdf)\b|"
                          r"\b(?:np\.|numpy\.)(load|loadtxt|genfromtxt)\b", re.I)
_READER_EXT = {"csv": "csv", "table": "csv", "json": "json", "parquet": "parquet", "excel": "xlsx", "pickle": "pkl",
               "feather": "feather", "hdf": "h5", "load": "npy", "loadtxt": "txt", "genfromtxt": "csv"}




def text_violations(text: str, constraints: Sequence[Constraint], allowed_reads: Collection[str] = (),
                    allowed_modules: Collection[str] = ()) -> list[str]:
    """Why `text` (a hypothesis' title and method, a plan step) breaks a rule: it proposes a library the rules forbid
    or do not allow, or reading a file the code must not read. What the starter code already does is allowed by the
    task: its reads (`allowed_reads`) and its imports (`allowed_modules`: cancer-adam's "use only numpy for the model
    and its training" comes with a starter that loads its csv files with pandas). [] when it breaks none that can
    be checked."""
    reasons: list[str] = []
    mentioned = [(module, words) for module, words in mentioned_modules(text) if module not in allowed_modules]
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
            for match in FILE_PATTERN.finditer(text):
                path = match.group("path")
                if any(path_matches(normal_path(path), p) for p in c.patterns) and not any(
                        same_file(path, r) for r in allowed_reads):
                    reasons.append(f"reads {path}, which the rule forbids: \"{c.rule}\"")
            starter_exts = {posixpath.splitext(r)[1].lstrip(".").lower() for r in allowed_reads}
            for match in _READER_CALL.finditer(text):
                ext = _READER_EXT[(match.group(1) or match.group(2)).lower()]
                if ext not in starter_exts and any(path_matches(f"file.{ext}", p) for p in c.patterns):
                    reasons.append(f"reads files with {match.group(0)}, which the rule forbids: \"{c.rule}\"")
    return list(dict.fromkeys(reasons))



_NEGATED = re.compile(r"\b(?:not|never|without|no|nor|n't|cannot)\b", re.I)
_EDIT_VERB = r"(?:modif|chang|edit|rewrit|updat|alter|patch|overwrit|extend)\w*"


def read_only_edits(text: str, read_only: Collection[str]) -> list[str]:
    """Why `text` (a hypothesis' title and method, a plan step) proposes to change a file the task keeps read-only
    (its evaluation, its held-out data): "modify evaluate.py to ...", "`evaluate.py` should be modified". [] when
    it proposes none. The loop refuses such writes anyway; stage 1 rejects the idea before it is ranked."""
    reasons = []
    for path in read_only:
        name = re.escape(path.rstrip("/"))
        file = rf"`?(?:[\w./-]*/)?{name}\b`?"
        found = [*re.finditer(rf"\b{_EDIT_VERB}\b[^.;:\n]{{0,60}}?(?<![\w./-]){file}", text, re.I),
                 *re.finditer(rf"(?<![\w./-]){file}[^.;:\n]{{0,40}}?\b(?:is|be|are|been|being|gets?)\s+"
                              rf"{_EDIT_VERB}", text, re.I)]
        if any(not _NEGATED.search(text[max(0, m.start() - 24):m.end()]) for m in found):
            reasons.append(f"changes {path}, which the task keeps read-only")
    return reasons


READER_FUNCTIONS = frozenset({
    "open", "read_csv", "read_table", "read_json", "read_parquet", "read_excel", "read_pickle", "read_feather",
    "read_hdf", "read_fwf", "read_orc", "read_sas", "read_stata", "read_spss", "read_xml", "read_html", "load",
    "loadtxt", "genfromtxt", "fromfile", "memmap", "load_npz", "loadmat", "imread", "read_image", "load_from_disk",
    "load_svmlight_file", "read_text", "read_bytes", "File",
})
PATH_METHODS = frozenset({"read_text", "read_bytes", "open"})
PATH_CONSTRUCTORS = frozenset({"Path", "PurePath", "PosixPath", "PurePosixPath"})
_WRITE_MODE = re.compile(r"[wax]")


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
        found = {normal_path(k): v for k, v in files.items() if k.endswith(".py")}
    return {k: v for k, v in found.items() if not any(path_matches(k, p) or k == normal_path(p) for p in exclude)}


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
                    resolved = normal_path(posixpath.join(base, target)) if not target.startswith("/") else target
                    if any(path_matches(resolved, p) or path_matches(normal_path(target), p) for p in c.patterns):
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
    lines: dict[str, str] = {}  # one line per finding, naming the first rule it breaks (task.yaml and the
    for key, path, line, message in _raw_violations(sources, checkable, local_names):  # problem may state one twice)
        if key not in allowed_keys:
            lines.setdefault(f"{path}:{line}: {message}", f"{path}:{line}: {message} (rule: \"{key[0]}\")")
    return list(lines.values())


def starter_reads(files: Mapping[str, str] | Path, exclude: Collection[str] = ()) -> list[str]:
    """The workspace paths the starter code reads by a literal path (resolved against the reading file's folder):
    what `text_violations` exempts, since the task's own code reads them."""
    reads = []
    for path, finder in _findings(_python_files(files, exclude)).items():
        base = posixpath.dirname(path)
        reads += [normal_path(posixpath.join(base, target)) for _, target, _ in finder.reads]
    return list(dict.fromkeys(reads))


def starter_imports(files: Mapping[str, str] | Path, exclude: Collection[str] = ()) -> list[str]:
    """The top-level modules the starter code imports: what `text_violations` exempts, since the task's own code
    uses them."""
    imports = [module for finder in _findings(_python_files(files, exclude)).values() for _, module in finder.imports]
    return list(dict.fromkeys(imports))


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


def permitted_packages(packages: list[str] | None, constraints: Sequence[Constraint],
                       starter: Collection[str] = ()) -> list[str] | None:
    """The importable `packages` the rules let the experiment use, with those the starter code already imports
    (`starter`); what prompts should list: the embedded model reads "packages the experiment can import: ...,
    torch" as an invitation, whatever the rules say. None when the sandbox's packages are unknown."""
    if packages is None:
        return None
    allowed = [set(c.names) for c in constraints if c.kind == "allowed_imports"]
    forbidden = {name for c in constraints if c.kind == "forbidden_imports" for name in c.names}
    return [p for p in packages if p in starter or (p not in forbidden and all(p in names for names in allowed))]
