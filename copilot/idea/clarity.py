"""A hypothesis' clarity, measured rather than asked: does its method name the file, the code and the settings of the
change, as the review's anchor for clarity says ("5 = names the exact change and every setting, so two people would
write the same code; 1 = vague")?

Why measured: asked for 1-5 scores, the embedded model (Qwen2.5-Coder-1.5B) gave every hypothesis of a run the same
clarity, 5/5/5 or 3/3/3, for methods as different as "smooth.py: replace the nested loops with vectorized operations"
and "Modify bilateral_filter to use a more efficient algorithm or a library". Whether a text names a file of the
workspace, a function the workspace's code defines or a library call, and values for its settings is something
copilot can check itself, against exactly what the prompt showed the model.
"""

from __future__ import annotations

import re

from copilot.constraints.vocabulary import FILE_PATTERN
from copilot.idea.models import Hypothesis, Score

_FILE_LINE = re.compile(r"^- (\S+) \(", re.M)
_DEFINED = re.compile(r"^\s*(?:def|class)\s+(\w+)|^(\w+)\s*=", re.M)
_API = re.compile(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\s*\(?|\b[A-Z]\w+\(|`[^`\s]+`")
_SETTING = re.compile(r"\b\w+\s*=\s*[\w.'\"-]+|(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?(?!\w|\.\d)")
_VAGUE = re.compile(r"\b(?:more efficient|different approach|better|improve[sd]?|optimi[sz]e[sd]?|appropriate|suitable|"
                    r"some|various|etc|a library|an algorithm|a method)\b", re.I)


def workspace_vocabulary(workspace: str) -> tuple[set[str], set[str]]:
    """The files and the names the workspace description shows (its file list; the functions, classes and
    module-level names of the code it quotes)."""
    files = set(_FILE_LINE.findall(workspace))
    files |= {f.rsplit("/", 1)[-1] for f in files}
    names = {a or b for a, b in _DEFINED.findall(workspace)} - {""}
    return files, {n for n in names if len(n) > 2}


def names_in(text: str, names: set[str]) -> set[str]:
    """The workspace `names` that `text` uses. A name that is a plain word ("model", "optimizer", "loss") counts only
    as code: in backticks or followed by "(", "." or "=" ("Evaluate the model" names no code)."""
    found = set()
    for name in names:
        plain = name.isalpha() and name.islower()
        pattern = (rf"`{re.escape(name)}`|\b{re.escape(name)}\s*[(.=]" if plain else rf"\b{re.escape(name)}\b")
        if re.search(pattern, text):
            found.add(name)
    return found


def _specifics(hypothesis: Hypothesis, workspace: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """What the title and method name: workspace files, code (names the workspace defines, library calls), setting
    values, and vague wording."""
    text = f"{hypothesis.title}. {hypothesis.method}"
    files, names = workspace_vocabulary(workspace)
    named_files = sorted(f for f in files if re.search(rf"(?<![\w/.-]){re.escape(f)}(?![\w-])", text))
    calls = {m.group(0).strip("`( ") for m in _API.finditer(text)}
    named_code = sorted(names_in(text, names) | {c for c in calls if not FILE_PATTERN.fullmatch(c)}
                        - set(named_files))
    settings = list(dict.fromkeys(m.group(0).rstrip(".,;") for m in _SETTING.finditer(text)
                                  if not any(m.group(0) in f for f in named_files)))
    vague = sorted({m.group(0).lower() for m in _VAGUE.finditer(text)})
    return named_files, named_code, settings, vague


def unspecific(hypothesis: Hypothesis, workspace: str) -> bool:
    """Whether the hypothesis names neither code nor a setting value: a kind of change rather than a change ("Use a
    different loss function: modify the loss function in train.py to use a different loss function", as the
    embedded model wrote on three real tasks of four, one of them a nearest-neighbour classifier with no loss)."""
    _, named_code, settings, _ = _specifics(hypothesis, workspace)
    return not named_code and not settings


def measured_clarity(hypothesis: Hypothesis, workspace: str) -> Score:
    """1-5: one point to start, one each for naming a workspace file, naming code (a function, class or name the
    workspace defines, or a library call such as `np.pad(`), giving a setting's value, and giving two or more; one
    off for vague wording ("a more efficient implementation", "a different approach"). The justification lists
    what was found."""
    named_files, named_code, settings, vague = _specifics(hypothesis, workspace)
    score = 1 + bool(named_files) + bool(named_code) + bool(settings) + (len(settings) >= 2) - bool(vague)
    found = [f"file {', '.join(named_files)}" if named_files else "no file",
             f"code {', '.join(named_code[:4])}" if named_code else "no function or call",
             f"settings {', '.join(settings[:4])}" if settings else "no setting values"]
    if vague:
        found.append(f"vague: {', '.join(vague[:3])}")
    return Score(score=max(1, min(5, score)), justification=("measured: " + "; ".join(found))[:400])


_GENERIC_START = re.compile(r"^\s*(?:test|compare|analy[sz]e|evaluate|run|re-?run|repeat|measure|check|verify|validate|"
                            r"report|record|document|observe|monitor|if|otherwise|collect|conclude|ensure|confirm|"
                            r"review|summari[sz]e|determine|assess|load the|read the|split the|train the model|"
                            r"save the|define the model|prepare the|preprocess the|execute)\b", re.I)


_VERDICT = re.compile(r"\bhypothesis (?:is|was) (?:not )?(?:supported|refuted|confirmed|rejected|accepted)\b|"
                      r"\b(?:accept|reject|support|refute)s? (?:the|this) hypothesis\b", re.I)

# A placeholder copied for a step: on sat-heuristic the embedded model's plan was six steps "description of the
# first step", "description of the second step", ..., and later "description of the steps to change the starter code
# to implement the hypothesis's method": no real step starts with "description of".
_PLACEHOLDER = re.compile(r"^\W*(?:(?:a|the|short|brief)\s+)*description of\b|"
                          r"^\W*(?:step(?:\s+\w+)?|todo|tbd|\.\.\.|…|<[^>]*>)\W*$", re.I)


def generic_step(step: str, workspace: str) -> bool:
    """Whether a plan step is boilerplate rather than a step of this experiment: a placeholder ("description of the
    first step"), or it starts like "Test the new implementation", "Compare the results", "If the time is less ...,
    the hypothesis is supported" and names no workspace file, no code and no setting value. (Asked for three
    distinct steps of a one-line hypothesis, the embedded model wrote one real step and four of these; the task's
    evaluation does the testing and comparing.)"""
    if _VERDICT.search(step) or _PLACEHOLDER.search(step):
        return True
    if not _GENERIC_START.search(step):
        return False
    files, names = workspace_vocabulary(workspace)
    named = any(re.search(rf"(?<![\w/.-]){re.escape(f)}(?![\w-])", step) for f in files) or bool(
        names_in(step, names))
    return not named and not any(not FILE_PATTERN.fullmatch(m.group(0).strip("`( ")) for m in _API.finditer(step)) \
        and not _SETTING.search(step)


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{2,}")
_COMMON = frozenset("""the and for with from into that this than then use uses using used each its their which when
where while what will would should could can may must not all any one two three new our are was were has have had
been being over under same other more most less such only also very per via about after before between both but
instead keep kept make makes made add adds added replace replaces replaced change changes changed set sets train
trains trained training model models data dataset feature features value values result results method approach
apply applies applied step steps run runs compute computes computed code file files function script test
accuracy score metric performance improve improves better higher lower reduce reduces increase increases fit fits
fitted predict predicts prediction predictions write writes read reads save saves load loads choose chosen
create creates print prints compare report difference benchmark workspace paper reproduce requires
split seed evaluate evaluates evaluation""".split())  # noqa: SIM905 - a word list reads better as text


def method_terms(hypothesis: Hypothesis, workspace: str) -> list[str]:
    """The words of the hypothesis (title first, then method) that the workspace's code and file list do not
    contain: what the experiment brings that the starter has not (for "RBF SVM with tuned kernel width" over a
    decision-tree starter: rbf, svm, tuned, kernel, width). Lower case, in order, each once; common words left out."""
    seen = {w.lower() for w in _WORD.findall(workspace)}
    words = [w.lower() for w in _WORD.findall(f"{hypothesis.title} {hypothesis.method}")]
    return [w for w in dict.fromkeys(words) if w not in seen and w not in _COMMON]


def plan_misses_method(steps: list[str], hypothesis: Hypothesis, workspace: str) -> str | None:
    """Why a plan does not test its hypothesis, or None: no step uses any word the hypothesis brings beyond the
    starter (`method_terms`), so the steps describe the code as it is. (The embedded model, shown the starter,
    planned "Create a DecisionTreeClassifier with max_depth=4" for "RBF SVM with tuned kernel width", and the
    episode then kept the decision tree.)"""
    terms = method_terms(hypothesis, workspace)
    text = " ".join(steps).lower()
    if not terms or any(re.search(rf"\b{re.escape(t)}\b", text) for t in terms):
        return None
    return (f"no step does the hypothesis' method: none mentions {', '.join(terms[:6])}; the steps must "
            "change the starter code to do the method, and what the starter does now belongs under baselines")


_LOADS_DATA = re.compile(r"\b(?:load|read|download|fetch|import|obtain|collect)\w*\b.{0,100}?"
                         r"\b(?:data(?:set)?s?|records|corpus|benchmark|stays|patients|images|documents|recordings)\b",
                         re.IGNORECASE)


def names_a_file(text: str, files: list[str]) -> bool:
    """Whether `text` names one of `files` by its file name (any case)."""
    lowered = text.lower()
    return any(f.rsplit("/", 1)[-1].lower() in lowered for f in files)


def loads_foreign_data(step: str, data_files: list[str]) -> bool:
    """Whether a plan step loads data and names none of the workspace's data files `data_files`: the material's own
    data, which the workspace does not have (the MGP-RNN paper's plan on the sales workspace: "Load the dataset of 18
    months of inpatient stays from the Duke University Health System"). False when the workspace has no data files."""
    return bool(data_files) and bool(_LOADS_DATA.search(step)) and not names_a_file(step, data_files)
