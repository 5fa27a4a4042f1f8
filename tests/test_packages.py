"""What the prompts say about installable packages: asked of the real local sandbox, recorded once per run, and a
failed import explained in the run's output."""

from __future__ import annotations

import logging

import pytest

from copilot.experiment.tools import ToolBox
from copilot.experiment.workspace import Workspace
from copilot.rundir import RunDir
from copilot.sandbox.base import RunResult
from copilot.sandbox.local import LocalSandbox
from copilot.sandbox.packages import (
    available_packages,
    missing_module_hint,
    missing_packages_named,
    packages_line,
)


class BrokenSandbox:
    """A sandbox whose interpreter cannot run (as a Docker image without Python would)."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, command, cwd, **kwargs):
        self.calls += 1
        return RunResult(command=command, exit_code=127, duration_s=0.0, reason="finished",
                         stderr_tail="bash: python: command not found")


def test_the_sandbox_names_what_it_can_import_and_the_answer_is_recorded(tmp_path):
    run = RunDir(tmp_path / "run")
    packages = available_packages(LocalSandbox(), run)
    assert packages[:4] == ["numpy", "pandas", "scipy", "sklearn"]
    assert "prophet" not in packages  # named by the demo paper's related work, not installed here
    broken = BrokenSandbox()
    assert available_packages(broken, run) == packages and broken.calls == 0  # read back, not asked again
    line = packages_line(packages)
    assert line.startswith("Python packages the experiment can import: numpy, pandas, scipy, sklearn")
    assert line.endswith("Nothing else can be installed (no network).")


def test_an_interpreter_that_cannot_answer_leaves_the_prompts_silent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="copilot.sandbox"):
        assert available_packages(BrokenSandbox(), RunDir(tmp_path / "run")) is None
    assert "command not found" in caplog.text
    assert packages_line(None) == "" and not (tmp_path / "run" / "sandbox_packages.json").exists()


def test_a_missing_module_is_explained_in_the_observation(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text("import prophet_is_not_here\n")
    workspace = Workspace.create(source, tmp_path / "ws", [], tmp_path / "traces")
    box = ToolBox(workspace, sandbox=LocalSandbox(), run_timeout_s=20)
    observation = box.call("execute", {"command": "python train.py"})
    assert not observation.ok and "ModuleNotFoundError" in observation.text
    assert "`prophet_is_not_here` is not installed, and nothing can be installed here" in observation.text
    assert missing_module_hint("ValueError: bad shape") == ""


def test_prose_that_names_a_package_the_sandbox_lacks_is_caught():
    installed = ["numpy", "pandas", "sklearn", "torch"]
    assert missing_packages_named("Replace the model with Prophet( yearly_harmonic=3)", installed) == ["prophet"]
    assert missing_packages_named("Gradient boosting with XGBRegressor and LightGBM", installed) == [
        "xgboost", "lightgbm"]
    assert missing_packages_named("A PyTorch MLP, then scikit-learn's RandomForestRegressor", installed) == []
    assert missing_packages_named("prophetic seasonality with a kerasian trend", installed) == []  # whole words only
    assert missing_packages_named("Use Prophet", None) == [], "unknown packages: nothing is flagged"


def test_a_download_attempted_without_network_is_explained():
    from copilot.sandbox.hints import failure_hint, network_hint

    # The tail of the traceback transformers gave the embedded model's `SentenceTransformer("<hub id>")`.
    hub = ("OSError: We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them in the "
           "cached files.")
    assert "There is no network here" in network_hint(hub)
    assert "Available resources" in failure_hint(hub) and "is not installed" not in failure_hint(hub)
    assert network_hint("socket.gaierror: [Errno -3] Temporary failure in name resolution")
    assert network_hint("ValueError: Invalid parameter 'LogisticRegression' for estimator Pipeline") == ""
    both = failure_hint("ModuleNotFoundError: No module named 'prophet'\nNetwork is unreachable")
    assert "`prophet` is not installed" in both and "no network" in both


def test_known_library_misuse_gets_what_to_do_instead():
    """Real error tails from `llm=local` attempts (sentence-transformers 5, scikit-learn 1.7, numpy 2)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LinearRegression

    from copilot.sandbox.hints import api_hint, failure_hint

    series = ("ValueError: Unsupported input type: Series. Expected one of: str, dict, PIL.Image.Image, np.ndarray, "
              "torch.Tensor")
    assert "pass series.tolist()" in failure_hint(series)
    pipeline = ("TypeError: All intermediate steps should be transformers and implement fit and transform or be the "
                "string 'passthrough' 'SentenceTransformer(\n  (0): Transformer({...})\n)' (type <class "
                "'sentence_transformers.sentence_transformer.model.SentenceTransformer'>) doesn't")
    assert "cannot be a pipeline step" in api_hint(pipeline)
    with pytest.raises(AttributeError) as vectorizer_error:
        TfidfVectorizer().fit_transform(np.zeros((2, 3)))
    assert "takes raw strings" in api_hint(repr(vectorizer_error.value))
    dates = np.array(["2021-01-01", "2021-01-02"], dtype="datetime64[ns]").reshape(-1, 1)
    with pytest.raises(Exception) as dates_error:  # numpy's _UFuncNoLoopError, raised in predict
        LinearRegression().fit(np.array([[0.0], [1.0]]), [1.0, 2.0]).predict(dates)
    assert "turn them into numbers first" in api_hint(f"{type(dates_error.value).__name__}: {dates_error.value}")
    assert api_hint("KeyError: 'sales'") == "" and api_hint("") == ""


def test_removed_and_missing_numeric_apis_get_their_replacement():
    """Real errors from `llm=local` forecast attempts: `mean_squared_error(..., squared=False)` (gone in scikit-learn
    1.6; two attempts of one run failed on it) and `pd.sin(...)`."""
    import pandas as pd
    from sklearn.metrics import mean_squared_error

    from copilot.sandbox.hints import api_hint

    with pytest.raises(TypeError) as squared_error:
        mean_squared_error([1.0, 2.0], [1.5, 2.5], squared=False)
    hint = api_hint(f"TypeError: {squared_error.value}")
    assert "root_mean_squared_error(y_true, y_pred)" in hint and "np.sqrt(mean_squared_error" in hint
    with pytest.raises(AttributeError) as pandas_error:
        pd.sin(pd.Series([0.0]))  # type: ignore[attr-defined]
    assert "use numpy's (import numpy as np, then np.sin" in api_hint(f"AttributeError: {pandas_error.value}")
    assert api_hint("AttributeError: module 'pandas' has no attribute 'read_excel2'") == ""
    dates = pd.Series(pd.date_range("2021-01-01", periods=5))
    with pytest.raises(ValueError) as table_error:
        pd.DataFrame({"constant": 1.0, "weekday": pd.get_dummies(dates.dt.day_of_week)}, index=dates.index)
    assert "pd.concat([columns, table], axis=1)" in api_hint(f"ValueError: {table_error.value}")


def test_an_undefined_name_gets_its_import_line():
    """The embedded model wrote `SentenceTransformer(path)` without the import, and its fix repeated the file."""
    from copilot.sandbox.hints import failure_hint, undefined_name_hint

    tail = ('  File "train.py", line 6, in <module>\n    model = SentenceTransformer("/models/minilm")\n'
            "NameError: name 'SentenceTransformer' is not defined")
    assert "add `from sentence_transformers import SentenceTransformer` at the top" in failure_hint(tail)
    assert "`from sklearn.ensemble import HistGradientBoostingRegressor`" in undefined_name_hint(
        "NameError: name 'HistGradientBoostingRegressor' is not defined")  # found among scikit-learn's estimators
    assert "`import numpy as np`" in undefined_name_hint("NameError: name 'np' is not defined")
    assert "before it is defined or imported" in undefined_name_hint("NameError: name 'baseline_f1' is not defined")
    assert undefined_name_hint("KeyError: 'label'") == ""


def test_a_name_the_new_version_dropped_is_shown_from_the_earlier_version():
    """The embedded model's text-embeddings rewrite lost `train = pd.read_csv(...)` and `test = ...`."""
    from copilot.sandbox.hints import defining_lines, dropped_definition_hint

    starter = ('import pandas as pd\nfrom sklearn.svm import SVC as Classifier\n\n'
               'train = pd.read_csv("data/train.csv")\ntest = pd.read_csv("data/test.csv")\n'
               'X, y = train.drop(columns="label"), train["label"]\n\n\n'
               'def features(frame):\n    return frame\n')
    error = ("  File \"train.py\", line 13\n    X_train = model.encode(train['text'])\n"
             "NameError: name 'train' is not defined")
    hint = dropped_definition_hint(error, ["broken = (", starter])  # a version that does not parse is skipped
    assert 'by:\ntrain = pd.read_csv("data/train.csv")\nThis version dropped it' in hint
    assert defining_lines("y", starter) == ['X, y = train.drop(columns="label"), train["label"]']
    assert defining_lines("Classifier", starter) == ["from sklearn.svm import SVC as Classifier"]
    assert defining_lines("features", starter) == ["def features(frame):\n    return frame"]
    assert defining_lines("train", "train = 1\nif x ==\n") == ["train = 1"], "unparsable code: matched by line"
    assert dropped_definition_hint(error, ["x = 1"]) == "" and dropped_definition_hint("KeyError: 'a'", [starter]) == ""
