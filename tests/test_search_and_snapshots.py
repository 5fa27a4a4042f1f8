"""Code snapshots (restore without copying data) and the report's numbers. The search policies are tested in
tests/test_policies.py."""

from __future__ import annotations

from copilot.execution.attempt import Attempt, Measurement
from copilot.execution.snapshots import clean_copy, restore_snapshot, take_snapshot
from copilot.task import MetricSpec

ACC = MetricSpec(name="accuracy", direction="maximize")
RMSE = MetricSpec(name="rmse", direction="minimize")


def attempt(id_: str, kind: str, status: str, value: float | None = None, parent: str | None = None,
            error: str | None = None) -> Attempt:
    measurement = Measurement(metric="m", value=value, source="results.json") if value is not None else None
    return Attempt(id=id_, kind=kind, status=status, measurement=measurement, parent=parent, error=error)


def _tree(root, files):
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def test_snapshot_records_only_changes_and_restores_exactly(tmp_path):
    source, work = tmp_path / "src", tmp_path / "work"
    _tree(source, {"train.py": "v1\n", "data/train.csv": "x\n" * 1000, "old.py": "gone\n"})
    clean_copy(source, None, work)
    (work / "train.py").write_text("v2\n")
    (work / "new.py").write_text("added\n")
    (work / "old.py").unlink()
    manifest = take_snapshot(work, source, tmp_path / "snap")
    assert manifest == {"changed": ["new.py", "train.py"], "deleted": ["old.py"], "too_large": []}
    assert not (tmp_path / "snap" / "files" / "data").exists(), "unchanged data is not copied"

    restore_snapshot(work, source, None)  # back to the starter code
    assert (work / "train.py").read_text() == "v1\n" and not (work / "new.py").exists()
    assert (work / "old.py").read_text() == "gone\n"
    restore_snapshot(work, source, tmp_path / "snap")  # forward to the attempt again
    assert (work / "train.py").read_text() == "v2\n" and (work / "new.py").read_text() == "added\n"
    assert not (work / "old.py").exists()

    copy = clean_copy(source, tmp_path / "snap", tmp_path / "verify")
    assert (copy / "train.py").read_text() == "v2\n" and (copy / "data/train.csv").exists()


def test_hidden_files_are_never_copied_snapshotted_or_restored(tmp_path):
    source, work, hidden = tmp_path / "src", tmp_path / "work", ["data/truth.csv"]
    _tree(source, {"train.py": "v1\n", "data/test.csv": "x\n", "data/truth.csv": "labels\n"})
    clean_copy(source, None, work, hidden=hidden)
    assert not (work / "data/truth.csv").exists() and (work / "data/test.csv").exists()
    (work / "train.py").write_text("v2\n")
    manifest = take_snapshot(work, source, tmp_path / "snap", ignore=frozenset(hidden))
    assert manifest == {"changed": ["train.py"], "deleted": [], "too_large": []}, "absence is not a deletion"

    (work / "data/truth.csv").write_text("planted\n")
    manifest = take_snapshot(work, source, tmp_path / "snap2", ignore=frozenset(hidden))
    assert manifest["changed"] == ["train.py"] and not (tmp_path / "snap2/files/data").exists()
    restore_snapshot(work, source, None, hidden=hidden)
    assert not (work / "data/truth.csv").exists(), "a stale file at a hidden path is removed, not restored"
    assert (work / "train.py").read_text() == "v1\n"
    restore_snapshot(work, source, tmp_path / "snap", hidden=hidden)
    assert (work / "train.py").read_text() == "v2\n" and not (work / "data/truth.csv").exists()

    copy = clean_copy(source, tmp_path / "snap", tmp_path / "verify", hidden=hidden)
    assert (copy / "train.py").read_text() == "v2\n" and not (copy / "data/truth.csv").exists()
    assert (source / "data/truth.csv").read_text() == "labels\n"


def test_the_report_says_why_nothing_was_re_executed():
    from copilot.execution.report import render_report, summarize

    tied = [attempt("a000", "baseline", "ok", 0.5778), attempt("a001", "draft", "ok", 0.5778, "a000")]
    report = render_report(summarize(tied, ACC, task="t", llm="local"), tied, None, None)
    assert "1 attempt(s) measured, none better than the baseline" in report and "Best: **0.5778** (attempt a000)" \
        in report and "0.0% relative (not a success" in report
    failed = [attempt("a000", "baseline", "ok", 0.5778), attempt("a001", "draft", "failed", None, "a000")]
    report = render_report(summarize(failed, ACC, task="t", llm="local"), failed, None, None)
    assert "No attempt beyond the baseline was measured" in report


def test_no_change_under_minimisation_is_zero_not_minus_zero():
    from copilot.execution.report import render_report, summarize

    tied = [attempt("a000", "baseline", "ok", 66.3764), attempt("a001", "draft", "ok", 66.3764, "a000")]
    summary = summarize(tied, RMSE, task="t", llm="local")
    assert str(summary.improvement_abs) == "0.0" and str(summary.improvement_rel) == "0.0"
    assert "-0" not in render_report(summary, tied, None, None)
