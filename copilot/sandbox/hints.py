"""One sentence added to a failed run's output when the failure comes from the sandbox's environment rather than
from the code (a module that is not installed, a download attempted without a network), or from a library misuse
whose error message does not say what to do instead. Small models otherwise "fix" such failures by importing the
same module again, asking the hub for the model by name once more, or resubmitting the same call.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
import sys

from copilot.sandbox.packages import missing_module_hint

NETWORK_FAILURE = re.compile(
    r"couldn't connect to '?https?://huggingface\.co|OfflineModeIsEnabled|LocalEntryNotFoundError|"
    r"Temporary failure in name resolution|Name or service not known|Network is unreachable|"
    r"Failed to establish a new connection|Max retries exceeded with url",
    re.IGNORECASE,
)


def network_hint(output: str) -> str:
    """A sentence for a run that failed trying to reach the network ('' otherwise)."""
    if not NETWORK_FAILURE.search(output):
        return ""
    return ("\n(There is no network here: nothing can be downloaded. Load models from the local paths listed under "
            "Available resources, passing the path where the library expects a hub id.)")


# (error pattern, what to do instead). Each one ended a `llm=local` attempt whose debug fixes repeated the mistake.
API_MISUSE = (
    (re.compile(r"Unsupported input type: Series|Series' object has no attribute 'tolist'|"
                r"(?:expected|must be) (?:str|a string).*got Series", re.IGNORECASE),
     "A pandas Series was passed where a list is expected: pass series.tolist() (for example "
     "encoder.encode(train['text'].tolist()))."),
    (re.compile(r"All intermediate steps should be transformers.*SentenceTransformer", re.DOTALL),
     "A SentenceTransformer is not a scikit-learn transformer and cannot be a pipeline step: compute the embeddings "
     "with encoder.encode(list_of_texts), then fit the classifier on that array directly."),
    (re.compile(r"'numpy\.ndarray' object has no attribute 'lower'"),
     "A text vectorizer (TfidfVectorizer, CountVectorizer) was given numbers; it takes raw strings. Numeric features "
     "such as embeddings go straight to the estimator, with no vectorizer."),
    (re.compile(r"DateTime64DType|float\(\) argument must be a string or a (?:real )?number, not 'Timestamp'|"
                r"invalid type promotion|Cannot cast DatetimeArray to dtype float64"),
     "Dates cannot be model inputs as they are: turn them into numbers first (days since the start, day of week, "
     "day of year, ...)."),
    (re.compile(r"Data must be 1-dimensional, got ndarray of shape \(\d+, \d+\)|"
                r"Per-column arrays must each be 1-dimensional"),
     "A table (such as the DataFrame pd.get_dummies returns) was given as one column of a new DataFrame: build the "
     "single columns first, then join the tables side by side with pd.concat([columns, table], axis=1)."),
    (re.compile(r"unexpected keyword argument 'squared'"),
     "scikit-learn 1.6 removed the squared= argument of mean_squared_error: use "
     "`from sklearn.metrics import root_mean_squared_error` and root_mean_squared_error(y_true, y_pred), or "
     "np.sqrt(mean_squared_error(y_true, y_pred))."),
    (re.compile(r"module 'pandas' has no attribute '(?:sin|cos|tan|exp|log|log1p|expm1|sqrt|pi|abs|arange|where)'"),
     "pandas has no math functions or constants: use numpy's (import numpy as np, then np.sin, np.cos, np.pi, "
     "np.log, np.exp, ...), which work on pandas Series too."),
)


UNDEFINED_NAME = re.compile(r"NameError: name '(\w+)' is not defined")
# Names code uses without importing them, beyond scikit-learn's estimators (found by `sklearn_imports`).
COMMON_IMPORTS = {
    "np": "import numpy as np", "pd": "import pandas as pd", "plt": "import matplotlib.pyplot as plt",
    "torch": "import torch", "nn": "from torch import nn", "json": "import json", "os": "import os",
    "math": "import math", "time": "import time", "Path": "from pathlib import Path",
    "SentenceTransformer": "from sentence_transformers import SentenceTransformer",
    "AutoModel": "from transformers import AutoModel", "AutoTokenizer": "from transformers import AutoTokenizer",
    "AutoModelForSequenceClassification": "from transformers import AutoModelForSequenceClassification",
    "load_dataset": "from datasets import load_dataset",
    "train_test_split": "from sklearn.model_selection import train_test_split",
    "cross_val_score": "from sklearn.model_selection import cross_val_score",
    "GridSearchCV": "from sklearn.model_selection import GridSearchCV",
    "make_pipeline": "from sklearn.pipeline import make_pipeline", "Pipeline": "from sklearn.pipeline import Pipeline",
    "accuracy_score": "from sklearn.metrics import accuracy_score", "f1_score": "from sklearn.metrics import f1_score",
    "mean_squared_error": "from sklearn.metrics import mean_squared_error",
    "root_mean_squared_error": "from sklearn.metrics import root_mean_squared_error",
    "mean_absolute_error": "from sklearn.metrics import mean_absolute_error",
}


@functools.cache
def sklearn_imports() -> dict[str, str]:
    """`{"LogisticRegression": "from sklearn.linear_model import LogisticRegression", ...}` for every scikit-learn
    estimator, from its public module; {} when scikit-learn is not importable here."""
    try:
        from sklearn.utils.discovery import all_estimators
    except ImportError:
        return {}
    imports = {}
    for name, estimator in all_estimators():
        public = ".".join(itertools.takewhile(lambda part: not part.startswith("_"), estimator.__module__.split(".")))
        if getattr(sys.modules.get(public), name, None) is estimator:  # all_estimators imported every module
            imports[name] = f"from {public} import {name}"
    return imports


def undefined_name_hint(output: str) -> str:
    """For a NameError: the import line of a well-known name, or a reminder to define it ('' without a NameError).
    The embedded model wrote `SentenceTransformer(...)` without its import and resubmitted the file unchanged."""
    match = UNDEFINED_NAME.search(output)
    if not match:
        return ""
    name = match.group(1)
    line = COMMON_IMPORTS.get(name) or sklearn_imports().get(name)
    if line:
        return f"\n(`{name}` is used but never imported: add `{line}` at the top of the file.)"
    return f"\n(`{name}` is used before it is defined or imported: define or import it before that line.)"


def defining_lines(name: str, code: str) -> list[str]:
    """The top-level statements of `code` that bind `name` (assignment, import, def, class, for), as written."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return [line for line in code.splitlines() if re.match(rf"{re.escape(name)}\s*(?:,[^=]*)?=[^=]", line)]
    found = []
    for node in tree.body:
        bound: set[str] = set()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            targets = (node.targets if isinstance(node, ast.Assign) else [node.target]
                       if isinstance(node, ast.AnnAssign | ast.AugAssign | ast.For) else [])
            bound |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        if name in bound:
            found.append(ast.get_source_segment(code, node) or "")
    return [line for line in found if line]


def dropped_definition_hint(output: str, earlier_versions: list[str]) -> str:
    """For a NameError on a name that an earlier working version of the script defined: the defining lines, to put
    back. The embedded model rewrote the text-embeddings script without `train = pd.read_csv(...)`, then resubmitted
    the file unchanged four times on the bare NameError."""
    match = UNDEFINED_NAME.search(output)
    if not match:
        return ""
    name = match.group(1)
    for code in earlier_versions:
        lines = defining_lines(name, code)
        if lines:
            shown = "\n".join(lines[:3])
            return (f"\n(`{name}` was defined in the earlier working version of the script by:\n{shown}\n"
                    f"This version dropped it: put it back before `{name}` is first used.)")
    return ""


def api_hint(output: str) -> str:
    """A sentence for a run that failed on a known library misuse ('' otherwise)."""
    return "".join(f"\n({advice})" for pattern, advice in API_MISUSE if pattern.search(output))


def failure_hint(output: str) -> str:
    """The hints that apply to a failed run's output, or ''."""
    return missing_module_hint(output) + network_hint(output) + api_hint(output) + undefined_name_hint(output)
