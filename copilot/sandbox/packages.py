"""Which common machine-learning packages the experiment's interpreter can import, asked of the sandbox itself (so the
answer holds for `sandbox=docker` too). Prompts name them, because nothing can be installed offline: without the
list, a model proposes a package that the related work mentions and the sandbox lacks, and spends an attempt on
`ModuleNotFoundError`.
"""

from __future__ import annotations

import logging
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger("copilot.sandbox")

KNOWN_PACKAGES = ("numpy", "pandas", "scipy", "sklearn", "statsmodels", "torch", "torchvision", "transformers",
                  "sentence_transformers", "datasets", "xgboost", "lightgbm", "catboost", "prophet", "tensorflow",
                  "keras", "jax", "matplotlib", "nltk", "spacy", "gensim", "optuna")
PROBE = "import importlib.util as u, sys; print(' '.join(n for n in sys.argv[1:] if u.find_spec(n)))"
RECORD = "sandbox_packages.json"
# How hypotheses and plans name a package in prose, where that differs from its import name.
PROSE_NAMES: dict[str, tuple[str, ...]] = {
    "sklearn": ("sklearn", "scikit-learn"),
    "torch": ("torch", "pytorch"),
    "sentence_transformers": ("sentence_transformers", "sentence-transformers", "sentencetransformer"),
    "xgboost": ("xgboost", "xgbclassifier", "xgbregressor"),
    "lightgbm": ("lightgbm", "lgbmclassifier", "lgbmregressor"),
    "catboost": ("catboost", "catboostclassifier", "catboostregressor"),
}


def available_packages(sandbox: Any, run: Any | None = None) -> list[str] | None:
    """The `KNOWN_PACKAGES` the sandbox's `python` can import, in that order; None when the probe fails (the prompts
    then say nothing about packages). With a run directory the answer is recorded once and reused, also on resume."""
    if run is not None and run.exists(RECORD):
        return run.read_json(RECORD)["packages"]
    with tempfile.TemporaryDirectory(prefix="copilot-probe-") as folder:
        result = sandbox.run(f"python -c {shlex.quote(PROBE)} {' '.join(KNOWN_PACKAGES)}", Path(folder),
                             timeout_s=60)
    if not result.ok:
        log.warning("could not list the sandbox's Python packages (%s); prompts will not name them",
                    (result.stderr_tail or result.reason).strip()[-200:])
        return None
    found = set(result.stdout_tail.split())
    packages = [name for name in KNOWN_PACKAGES if name in found]
    if run is not None:
        run.write_json(RECORD, {"packages": packages, "checked": list(KNOWN_PACKAGES)})
    return packages


def packages_line(packages: list[str] | None) -> str:
    """One line for prompts naming the importable packages ('' when unknown)."""
    if packages is None:
        return ""
    names = ", ".join(packages) or "none of the common ones"
    return (f"Python packages the experiment can import: {names}, and the standard library. Nothing else can be "
            "installed (no network).")


def missing_packages_named(text: str, packages: list[str] | None) -> list[str]:
    """The `KNOWN_PACKAGES` that `text` names (by import name or the usual prose name, as a whole word, any case) but
    the sandbox cannot import; [] when the sandbox's packages are unknown. Stage 1 uses it to rank a hypothesis that
    needs, say, Prophet below those the sandbox can run."""
    if packages is None:
        return []
    words = set(re.findall(r"[a-z0-9][a-z0-9_-]*[a-z0-9]", text.lower()))
    return [name for name in KNOWN_PACKAGES
            if name not in packages and words & set(PROSE_NAMES.get(name, (name,)))]
