"""The run directory: layout, atomic JSON, and JSONL files that survive a kill mid-write."""

from __future__ import annotations

import json

from copilot.rundir import JsonlWriter, RunDir, read_jsonl


def test_layout_is_created(tmp_path):
    run = RunDir(tmp_path / "run")
    for sub in ("agent_log", "env_log/traces", "idea", "attempts", "experiment"):
        assert (run.root / sub).is_dir()


def test_write_json_is_atomic_and_leaves_no_temporary_files(tmp_path):
    run = RunDir(tmp_path)
    run.write_json("idea/plan.json", {"steps": [1, 2]})
    run.write_json("idea/plan.json", {"steps": [3]})
    assert run.read_json("idea/plan.json") == {"steps": [3]}
    assert [p.name for p in (tmp_path / "idea").iterdir()] == ["plan.json"]


def test_a_torn_last_line_is_set_aside_and_appends_stay_parseable(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n{"c": ')  # a process killed in the middle of a write
    writer = JsonlWriter(path)
    writer.write({"d": 4})
    writer.close()
    assert list(read_jsonl(path)) == [{"a": 1}, {"b": 2}, {"d": 4}]
    assert (tmp_path / "log.jsonl.torn").read_text() == '{"c": \n'


def test_each_record_is_flushed_immediately(tmp_path):
    writer = JsonlWriter(tmp_path / "log.jsonl")
    writer.write({"n": 1})
    # Read through a separate handle before close: the line must already be in the file.
    assert json.loads((tmp_path / "log.jsonl").read_text()) == {"n": 1}
