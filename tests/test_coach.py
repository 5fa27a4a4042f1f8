"""The coach (copilot/coach/): its rules as data files, the advice each gives on real error outputs, the refusals,
the recorded firings, and rule files of one's own."""

from __future__ import annotations

import json

import pytest

from copilot.coach.advice import defining_lines
from copilot.coach.base import FiringLog, NoCoach, ProposedAction
from copilot.coach.small import DROPPED_RULES, RuleCoach
from copilot.errors import UserError
from copilot.rundir import JsonlWriter

COACH = RuleCoach(rule_dirs=[str(DROPPED_RULES)])  # the dropped rules too: their kinds are still offered


def rule(name: str):
    return next(r for r in COACH.rules if r.name == name)


def hint(name: str, output: str) -> str:
    return rule(name)(output, []) or ""


def misuse(output: str) -> str:
    return hint("library_misuse", output)


def advice(output: str) -> str:
    return COACH.run_failed(output, [])


def test_known_library_misuse_gets_what_to_do_instead():
    """Real error tails from `llm=local` attempts (sentence-transformers 5, scikit-learn 1.7, numpy 2)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LinearRegression

    series = ("ValueError: Unsupported input type: Series. Expected one of: str, dict, PIL.Image.Image, np.ndarray, "
              "torch.Tensor")
    assert "pass series.tolist()" in advice(series)
    pipeline = ("TypeError: All intermediate steps should be transformers and implement fit and transform or be the "
                "string 'passthrough' 'SentenceTransformer(\n  (0): Transformer({...})\n)' (type <class "
                "'sentence_transformers.sentence_transformer.model.SentenceTransformer'>) doesn't")
    assert "cannot be a pipeline step" in misuse(pipeline)
    with pytest.raises(AttributeError) as vectorizer_error:
        TfidfVectorizer().fit_transform(np.zeros((2, 3)))
    assert "takes raw strings" in misuse(repr(vectorizer_error.value))
    dates = np.array(["2021-01-01", "2021-01-02"], dtype="datetime64[ns]").reshape(-1, 1)
    with pytest.raises(Exception) as dates_error:  # numpy's _UFuncNoLoopError, raised in predict
        LinearRegression().fit(np.array([[0.0], [1.0]]), [1.0, 2.0]).predict(dates)
    assert "turn them into numbers first" in misuse(f"{type(dates_error.value).__name__}: {dates_error.value}")
    assert misuse("KeyError: 'sales'") == "" and misuse("") == ""


def test_a_pandas_key_error_on_a_column_gets_the_columns_the_tables_have(tmp_path):
    """Real pandas errors, on a workspace whose held-out answers file is never read."""
    import traceback
    from types import SimpleNamespace

    import pandas as pd

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "series.csv").write_text("date,passengers\n1949-01,112\n")
    (tmp_path / "data" / "wide.csv").write_text(",".join(["id", "label", *(f"t{i:03}" for i in range(150))]) + "\n")
    (tmp_path / "answers.csv").write_text("id,secret_label\n1,0\n")
    missing = RuleCoach(rule_dirs=[str(DROPPED_RULES)]).bind(SimpleNamespace(task=SimpleNamespace(
        workspace=tmp_path, spec=SimpleNamespace(hidden=["answers.csv"]))))

    def pandas_error(index) -> str:
        try:
            index(pd.read_csv(tmp_path / "data" / "series.csv"))
        except KeyError:
            return traceback.format_exc()
        raise AssertionError("pandas raised no KeyError")

    single = missing.run_failed(pandas_error(lambda frame: frame["value"]), [])
    assert "No table of the workspace has a column 'value'" in single
    assert "data/series.csv: date, passengers" in single
    assert "data/wide.csv: id, label, t000, " in single and ", ..., t149 (152 columns)" in single
    assert "answers.csv" not in single and "secret_label" not in single
    several = missing.run_failed(pandas_error(lambda frame: frame[["date", "label"]]), [])
    assert "'label' is a column of data/wide.csv only, not of the table the code indexed" in several
    assert missing.run_failed("KeyError: 'value'", []) == ""  # a dict's KeyError: no pandas in the traceback
    assert advice(pandas_error(lambda frame: frame["value"])) == ""  # not bound to a run: no tables to read


def test_removed_and_missing_numeric_apis_get_their_replacement():
    """Real errors from `llm=local` forecast attempts: `mean_squared_error(..., squared=False)` (gone in scikit-learn
    1.6; two attempts of one run failed on it) and `pd.sin(...)`."""
    import pandas as pd
    from sklearn.metrics import mean_squared_error

    with pytest.raises(TypeError) as squared_error:
        mean_squared_error([1.0, 2.0], [1.5, 2.5], squared=False)
    text = misuse(f"TypeError: {squared_error.value}")
    assert "root_mean_squared_error(y_true, y_pred)" in text and "np.sqrt(mean_squared_error" in text
    with pytest.raises(AttributeError) as pandas_error:
        pd.sin(pd.Series([0.0]))  # type: ignore[attr-defined]
    assert "use numpy's (import numpy as np, then np.sin" in misuse(f"AttributeError: {pandas_error.value}")
    assert misuse("AttributeError: module 'pandas' has no attribute 'read_excel2'") == ""
    dates = pd.Series(pd.date_range("2021-01-01", periods=5))
    with pytest.raises(ValueError) as table_error:
        pd.DataFrame({"constant": 1.0, "weekday": pd.get_dummies(dates.dt.day_of_week)}, index=dates.index)
    assert "pd.concat([columns, table], axis=1)" in misuse(f"ValueError: {table_error.value}")


def test_an_undefined_name_gets_its_import_line():
    """The embedded model wrote `SentenceTransformer(path)` without the import, and its fix repeated the file."""
    tail = ('  File "train.py", line 6, in <module>\n    model = SentenceTransformer("/models/minilm")\n'
            "NameError: name 'SentenceTransformer' is not defined")
    assert "add `from sentence_transformers import SentenceTransformer` at the top" in advice(tail)
    assert "`from sklearn.ensemble import HistGradientBoostingRegressor`" in hint('import_line',
        "NameError: name 'HistGradientBoostingRegressor' is not defined")  # found among scikit-learn's estimators
    assert "`import numpy as np`" in hint("import_line", "NameError: name 'np' is not defined")
    assert "before it is defined or imported" in hint("import_line", "NameError: name 'baseline_f1' is not defined")
    assert hint("import_line", "KeyError: 'label'") == ""


def test_a_known_name_looked_up_in_the_wrong_module_gets_the_module_it_is_in():
    """Real errors: the embedded model's `ensemble.HuberRegressor(...)` on a real suite task, and its import form."""
    import sklearn.ensemble

    with pytest.raises(AttributeError) as attribute:
        sklearn.ensemble.HuberRegressor  # noqa: B018 - the attribute lookup is the error under test
    with pytest.raises(ImportError) as imported:
        exec("from sklearn.ensemble import HuberRegressor")
    for error in (attribute.value, imported.value):
        assert ("`HuberRegressor` is not in `sklearn.ensemble`: import it with "
                "`from sklearn.linear_model import HuberRegressor`") in hint("import_line", f"{error}")
    assert hint("import_line", "module 'pandas' has no attribute 'sin'") == ""  # no known import line for it
    assert hint("import_line", "module 'numpy' has no attribute 'np'") == ""


def test_a_name_the_new_version_dropped_is_shown_from_the_earlier_version():
    """The embedded model's text-embeddings rewrite lost `train = pd.read_csv(...)` and `test = ...`."""
    starter = ('import pandas as pd\nfrom sklearn.svm import SVC as Classifier\n\n'
               'train = pd.read_csv("data/train.csv")\ntest = pd.read_csv("data/test.csv")\n'
               'X, y = train.drop(columns="label"), train["label"]\n\n\n'
               'def features(frame):\n    return frame\n')
    error = ("  File \"train.py\", line 13\n    X_train = model.encode(train['text'])\n"
             "NameError: name 'train' is not defined")
    hint = rule("dropped_definition")(error, ["broken = (", starter]) or ""  # a version that does not parse is skipped
    assert 'by:\ntrain = pd.read_csv("data/train.csv")\nThis version dropped it' in hint
    assert defining_lines("y", starter) == ['X, y = train.drop(columns="label"), train["label"]']
    assert defining_lines("Classifier", starter) == ["from sklearn.svm import SVC as Classifier"]
    assert defining_lines("features", starter) == ["def features(frame):\n    return frame"]
    assert defining_lines("train", "train = 1\nif x ==\n") == ["train = 1"], "unparsable code: matched by line"
    assert rule("dropped_definition")(error, ["x = 1"]) is None
    assert rule("dropped_definition")("KeyError: 'a'", [starter]) is None


def test_refusals_of_a_repeated_look_and_of_an_unchanged_final_answer_are_counted():
    coach = RuleCoach()
    refused = {}
    look = ProposedAction(tool="read_file", arguments={"path": "a"}, repeats_previous=True, refusals_so_far=refused)
    assert "same arguments" in coach.refusal(look)
    assert coach.refusal(ProposedAction(tool="execute", arguments={}, repeats_previous=True)) is None
    final = ProposedAction(tool="final_answer", arguments={}, episode_changed_files=False, refusals_so_far=refused)
    assert "no file has changed" in coach.refusal(final)
    assert coach.refusal(final) is None, "refused once per episode (unchanged_final.yaml: times: 1)"
    assert refused == {"repeated_look": 1, "unchanged_final": 1}
    assert coach.refusal(ProposedAction(tool="final_answer", arguments={}, episode_changed_files=True)) is None


def test_every_firing_is_recorded_with_the_attempt_it_touched(tmp_path):
    writer = JsonlWriter(tmp_path / "coach" / "firings.jsonl")
    coach = RuleCoach(rule_dirs=[str(DROPPED_RULES)]).bind(None, FiringLog(writer))
    coach.begin_attempt("a003")
    assert "import numpy as np" in coach.run_failed("NameError: name 'np' is not defined", [])
    coach.run_failed("ValueError: bad shape", [])  # nothing fires
    writer.close()
    records = [json.loads(line) for line in (tmp_path / "coach" / "firings.jsonl").read_text().splitlines()]
    assert [(r["rule"], r["event"], r["attempt"]) for r in records] == [("import_line", "run_failed", "a003")]
    assert coach.firings.count == {"import_line": 1}


def test_no_coach_gives_nothing():
    none = NoCoach()
    assert none.run_failed("NameError: name 'np' is not defined", []) == ""
    assert none.refusal(ProposedAction(tool="read_file", arguments={}, repeats_previous=True)) is None
    assert none.repair("x", "NameError: name 'x' is not defined", "train.py", ["x = 1"]) is None


def test_a_rule_of_ones_own_is_one_yaml_file_and_rules_can_be_turned_off(tmp_path):
    (tmp_path / "shape.yaml").write_text(
        "_target_: copilot.coach.advice.RegexAdvice\nname: shape_mismatch\n"
        "patterns:\n  - pattern: 'shapes \\(\\d+,\\) and \\(\\d+,\\) not aligned'\n"
        "    advice: Reshape the vector to a column with .reshape(-1, 1).\n")
    coach = RuleCoach(rule_dirs=[str(DROPPED_RULES), str(tmp_path)], disabled=["import_line"])
    assert "reshape(-1, 1)" in coach.run_failed("ValueError: shapes (3,) and (4,) not aligned", [])
    assert coach.run_failed("NameError: name 'np' is not defined", []) == ""
    with pytest.raises(UserError, match=r"coach\.disabled: unknown rule 'nope'"):
        RuleCoach(disabled=["nope"])
    (tmp_path / "broken.yaml").write_text("_target_: copilot.coach.advice.Nowhere\nname: broken\n")
    with pytest.raises(UserError, match=r"broken\.yaml"):
        RuleCoach(rule_dirs=[str(tmp_path)])
    with pytest.raises(UserError, match="is not a folder"):
        RuleCoach(rule_dirs=[str(tmp_path / "missing")])


def test_the_coaching_table_counts_firings_and_what_the_touched_attempts_did(tmp_path):
    """benchmarks/bench_coaching.py on a run directory made here: two rules fired on a001 (which then ran and beat
    its parent), one on a002 (which failed); every built-in rule has a row."""
    import sys

    from copilot.execution.attempt import Attempt, Measurement
    from copilot.rundir import write_json_atomic

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench_coaching import tally

    run = tmp_path / "run"
    for attempt in (Attempt(id="a000", kind="baseline", status="ok",
                            measurement=Measurement(metric="m", value=0.5, source="results.json")),
                    Attempt(id="a001", kind="debug", parent="a000", status="ok",
                            measurement=Measurement(metric="m", value=0.7, source="results.json")),
                    Attempt(id="a002", kind="improve", parent="a001", status="failed"),
                    Attempt(id="a003", kind="debug", parent="a002", status="failed"),
                    Attempt(id="a004", kind="debug", parent="a003", status="ok",
                            measurement=Measurement(metric="m", value=0.9, source="results.json"))):
        write_json_atomic(run / "attempts" / attempt.id / "attempt.json", attempt)
    write_json_atomic(run / "summary.json", {"metric": "m", "direction": "maximize"})
    (run / "coach").mkdir()
    (run / "coach" / "firings.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"rule": "import_line", "event": "run_failed", "attempt": "a001"},
        {"rule": "import_line", "event": "run_failed", "attempt": "a001"},
        {"rule": "missing_column", "event": "run_failed", "attempt": "a002"}]) + "\n")
    table = tally([run])
    assert table["import_line"] == {"fired": 2, "touched": 1, "ran": 1, "improved": 1, "fixed_improved": 0}
    assert table["missing_column"] == {"fired": 1, "touched": 1, "ran": 0, "improved": 0, "fixed_improved": 1}, \
        "a002 failed; its fix of a fix (a004) measured 0.9, better than a001's 0.7"
    assert table["reproduction_parts"] == {"fired": 0, "touched": 0, "ran": 0, "improved": 0, "fixed_improved": 0}

    # A derive rule touches every attempt that tested one of its candidates (from the journal's `queued` event).
    write_json_atomic(run / "attempts" / "a005" / "attempt.json", Attempt(
        id="a005", kind="improve", parent="a000", hypothesis="Part 2 of the method", status="ok",
        measurement=Measurement(metric="m", value=0.8, source="results.json")))
    (run / "execution").mkdir()
    (run / "execution" / "journal.jsonl").write_text(json.dumps({
        "event": "queued", "reason": "short", "of": "Reproduce it",
        "candidates": [{"title": "Part 1 of the method"}, {"title": "Part 2 of the method"}]}) + "\n")
    with (run / "coach" / "firings.jsonl").open("a") as firings:
        firings.write(json.dumps({"rule": "reproduction_parts", "event": "derive", "attempt": "a004",
                                  "detail": "2 candidates of Reproduce it"}) + "\n")
    assert tally([run])["reproduction_parts"] == {"fired": 1, "touched": 2, "ran": 2, "improved": 1,
                                                  "fixed_improved": 0}, "a004 (0.9 after a failed a003) and a005"
