"""The words rules and hypotheses use: library names (prose and import names) and workspace paths."""

from __future__ import annotations

import fnmatch
import posixpath
import re
import sys

from copilot.sandbox.packages import KNOWN_PACKAGES, PROSE_NAMES

STDLIB = frozenset(sys.stdlib_module_names)
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
NAME_PATTERN = re.compile(
    r"(?<![\w.-])(" + "|".join(re.escape(n) for n in sorted(LIBRARY_NAMES, key=len, reverse=True)) + r")(?![\w-])",
    re.I)
# A workspace file named in prose: `data/test.csv`, `reference/*.npy`.
_EXTENSIONS = (r"csv|tsv|json|jsonl|npy|npz|txt|parquet|pkl|pickle|h5|hdf5|xlsx|xls|feather|arrow|pt|pth|bin|zip|gz|"
               r"tar|yaml|yml|png|jpg|jpeg|wav|mat|py")
FILE_PATTERN = re.compile(r"(?<![\w/.*-])(?P<path>(?:[\w.-]+/)*[\w*-]+\.(?:" + _EXTENSIONS + r"))(?![\w-])", re.I)


def library_modules(text: str) -> list[str]:
    """The top-level modules of the libraries `text` names (prose names included: PyTorch -> torch), in order."""
    found: list[str] = []
    for match in NAME_PATTERN.finditer(text):
        module = LIBRARY_NAMES[match.group(1).lower()]
        if module not in found:
            found.append(module)
    return found


# Library names that are also plain words ("Vision Transformers", "the datasets"): in prose they count as the library
# only with a code cue (`transformers`, transformers.AutoModel, "the transformers library", "import datasets").
AMBIGUOUS_NAMES = frozenset({"transformers", "datasets", "lightning", "accelerate", "requests", "paddle", "pillow",
                             "polars", "flax", "dask"})
_NEGATION_CUE = re.compile(r"\b(?:not|no|without|instead\s+of|rather\s+than|avoid(?:ing|s)?|replac(?:e|es|ing)|"
                           r"drop(?:ping|s)?|remov(?:e|es|ing)|unlike|never|nor|free\s+of|than)\b", re.I)
# After "replace"/"drop"/"remove", what follows "with", "by" or "using" is what is used, not what is negated.
_REPLACING = re.compile(r"^(?:replac|drop|remov)", re.I)
_AFFIRMING = re.compile(r"\b(?:with|by|using|into|to|and\s+use)\b", re.I)
_CODE_CUE_BEFORE = re.compile(r"(?:`|\bimport\s+|\bfrom\s+|hugging\s*face'?s?\s+)$", re.I)
_CODE_CUE_AFTER = re.compile(r"^(?:`|\.\w|\s+(?:library|package|module)\b)", re.I)

def _negated(before: str) -> bool:
    """Whether the words just before a mention put it in a negation: "without scipy", "instead of PyTorch",
    "replace torch with ..." (but not "replace the model with PyTorch's ...": after "with" it is what is used)."""
    window = before[-60:]
    cues = list(_NEGATION_CUE.finditer(window))
    if not cues:
        return False
    cue, between = cues[-1], window[cues[-1].end():]
    if len(between.split()) > 4:
        return False
    return not (_REPLACING.match(cue.group(0)) and _AFFIRMING.search(between))


def mentioned_modules(text: str) -> list[tuple[str, str]]:
    """(module, the words first used for it) for each library `text` proposes to use: negated mentions ("without
    scipy") and plain-word uses of ambiguous names ("Vision Transformers") left out."""
    found: list[tuple[str, str]] = []
    for match in NAME_PATTERN.finditer(text):
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


def normal_path(path: str) -> str:
    normal = posixpath.normpath(path.replace("\\", "/"))
    while normal.startswith("../"):
        normal = normal[3:]
    return normal


def path_matches(path: str, pattern: str) -> bool:
    """Whether a workspace path matches a rule's pattern: a pattern without a folder ("*.csv", "test.csv") matches the
    file's name anywhere; one with a folder ("data/test.csv", "reference/*") matches the path (or its end)."""
    pattern = normal_path(pattern.rstrip("/") + ("/*" if pattern.endswith("/") else ""))
    if "/" not in pattern:
        return fnmatch.fnmatch(posixpath.basename(path).lower(), pattern.lower())
    lowered = path.lower()
    return fnmatch.fnmatch(lowered, pattern.lower()) or fnmatch.fnmatch(lowered, "*/" + pattern.lower())


def same_file(a: str, b: str) -> bool:
    """Whether two spellings name the same workspace file (one may omit the folder: train.csv, data/train.csv)."""
    a, b = normal_path(a).lower(), normal_path(b).lower()
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


