"""Workspace confinement, read-only and hidden files, undo, step diffs, and every tool's success and error paths,
including a campaign of hostile arguments that must each give a clear observation and never crash or escape the
workspace.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from copilot.experiment.tools import ToolBox, truncate
from copilot.experiment.workspace import Workspace, WorkspaceError
from copilot.llm.client import LLM
from copilot.sandbox.local import LocalSandbox
from tests.conftest import ScriptedBackend


@pytest.fixture
def ws(tmp_path):
    source = tmp_path / "source"
    (source / "data").mkdir(parents=True)
    (source / "train.py").write_text("import sys\nprint('training')\nx = 1\n")
    (source / "evaluate.py").write_text("print('METRIC accuracy=0.5')\n")
    (source / "data" / "labels.csv").write_text("id,label\n1,0\n")
    (source / "data" / "truth.csv").write_text("id,label\n2,1\n")
    (tmp_path / "outside.txt").write_text("secret outside")
    workspace = Workspace.create(source, tmp_path / "run" / "workspace", ["evaluate.py", "data/labels.csv"],
                                 tmp_path / "run" / "env_log" / "traces", hidden=["data/truth.csv"])
    return workspace


@pytest.fixture
def box(ws):
    llm = LLM(ScriptedBackend(["It prints 'training' on line 2.", "Run the script next."]))
    return ToolBox(ws, sandbox=LocalSandbox(), llm=llm, observation_max_chars=2000, run_timeout_s=20)


def test_the_source_is_copied_and_never_changed(ws, tmp_path):
    ws.write_file("train.py", "changed\n")
    assert (tmp_path / "source" / "train.py").read_text().startswith("import sys")
    assert not os.access(ws.root / "evaluate.py", os.W_OK) or os.geteuid() == 0
    assert oct((ws.root / "evaluate.py").stat().st_mode)[-3:] == "444"


def test_hidden_files_are_not_copied_and_not_shown(ws, box, tmp_path):
    assert not (ws.root / "data" / "truth.csv").exists()
    assert (tmp_path / "source" / "data" / "truth.csv").read_text() == "id,label\n2,1\n"
    assert (ws.root / "data" / "labels.csv").is_file()
    box.call("execute", {"command": "echo 2,0 > data/truth.csv"})  # a command may create it; the tools never show it
    listing = box.call("list_files", {}).text
    assert "data/labels.csv" in listing and "truth.csv" not in listing


def test_the_idea_stage_description_of_the_starter_folder_leaves_hidden_files_out(tmp_path):
    from copilot.starter import describe_workspace

    source = tmp_path / "source"
    (source / "data").mkdir(parents=True)
    for name in ("train.py", "data/test.csv", "data/truth.csv"):
        (source / name).write_text("x\n")
    description = describe_workspace(source, "python train.py", hidden=["data/truth.csv"])
    assert "data/test.csv" in description and "truth.csv" not in description


def test_reopening_a_workspace_removes_a_stale_hidden_file(ws, caplog):
    """A run made before hidden files existed has them in its workspace; resuming it removes them."""
    (ws.root / "data" / "truth.csv").write_text("id,label\n2,1\n")
    (ws.root / "data" / "truth.csv").chmod(0o444)
    with caplog.at_level(logging.WARNING, logger="copilot.experiment"):
        reopened = Workspace.open(ws.root, ["evaluate.py"], ws.traces_dir, hidden=["data/truth.csv"])
    assert not (reopened.root / "data" / "truth.csv").exists() and (reopened.root / "data" / "labels.csv").exists()
    assert any("removed data/truth.csv" in record.getMessage() for record in caplog.records)


def test_read_write_edit_undo(ws):
    assert "    2| print('training')" in ws.read_file("train.py")
    assert "lines 2-2 of 3" in ws.read_file("train.py", 2, 2)
    ws.edit_file("train.py", "x = 1", "x = 2")
    ws.write_file("new/helper.py", "def f():\n    return 1\n")
    assert "x = 2" in (ws.root / "train.py").read_text()
    assert ws.undo_edit("train.py").startswith("restored")
    assert "x = 1" in (ws.root / "train.py").read_text()
    assert "removed" in ws.undo_edit("new/helper.py") and not (ws.root / "new/helper.py").exists()
    with pytest.raises(WorkspaceError, match="no earlier version"):
        ws.undo_edit("train.py")


def test_edit_explains_missing_and_ambiguous_search_text(ws):
    with pytest.raises(WorkspaceError, match=r"not found.*closest lines: .x = 1."):
        ws.edit_file("train.py", "x = 10", "x = 3")
    ws.write_file("dup.py", "a = 1\na = 1\n")
    with pytest.raises(WorkspaceError, match="occurs 2 times"):
        ws.edit_file("dup.py", "a = 1", "a = 2")


def test_step_diffs_record_tool_and_command_changes(ws, box):
    ws.begin_step(1)
    box.call("edit_file", {"path": "train.py", "search": "x = 1", "replace": "x = 5"})
    box.call("execute", {"command": "echo out > made_by_command.txt"})
    summary = ws.end_step(1)
    assert "train.py" in summary and "made_by_command.txt" in summary
    diff = (ws.traces_dir / "step_1" / "changes.diff").read_text()
    assert "-x = 1" in diff and "+x = 5" in diff and "+out" in diff
    ws.begin_step(2)
    assert ws.end_step(2) == "" and not (ws.traces_dir / "step_2").exists()


def test_tools_success_paths(box):
    assert "train.py" in box.call("list_files", {}).text
    assert box.call("inspect_lines", {"path": "train.py", "start_line": 1, "end_line": 2}).ok
    run = box.call("execute", {"command": "python train.py"})
    assert run.ok and "training" in run.text and "exit code 0" in run.text
    assert "line 2" in box.call("understand_file", {"path": "train.py", "question": "what does it print?"}).text
    assert box.call("reflection", {"question": "what next?"}).text == "Run the script next."
    final = box.call("final_answer", {"summary": "done", "claimed_metric": 0.9})
    assert final.final and final.data == {"summary": "done", "claimed_metric": 0.9}
    assert len(box.specs()) == 11 and all(s.parameters["type"] == "object" for s in box.specs())


def test_a_failing_command_is_an_observation(box):
    result = box.call("execute", {"command": "python -c 'raise SystemExit(\"boom\")'"})
    assert not result.ok and "exit code 1" in result.text and "boom" in result.text


HOSTILE = [
    ("read_file", {"path": "../outside.txt"}, "outside the workspace"),
    ("read_file", {"path": "/etc/passwd"}, "absolute path"),
    ("read_file", {"path": "sub/../../outside.txt"}, "outside the workspace"),
    ("read_file", {"path": "link_out"}, "outside the workspace"),
    ("write_file", {"path": "../escape.py", "content": "x"}, "outside the workspace"),
    ("write_file", {"path": "/tmp/escape.py", "content": "x"}, "absolute path"),
    ("write_file", {"path": "link_out", "content": "x"}, "outside the workspace"),
    ("write_file", {"path": "evaluate.py", "content": "print('METRIC accuracy=1')"}, "read-only"),
    ("write_file", {"path": "./evaluate.py", "content": "x"}, "read-only"),
    ("write_file", {"path": "data/../evaluate.py", "content": "x"}, "read-only"),
    ("edit_file", {"path": "data/labels.csv", "search": "1,0", "replace": "1,1"}, "read-only"),
    ("undo_edit", {"path": "evaluate.py"}, "read-only"),
    ("write_file", {"path": "huge.txt", "content": "x" * 2_000_000}, "the limit is"),
    ("write_file", {"path": "data", "content": "x"}, "is a folder"),
    ("read_file", {"path": "blob.bin"}, "binary file"),
    ("read_file", {"path": "missing.py"}, "does not exist"),
    ("read_file", {"path": "a\x00b"}, "NUL byte"),
    ("read_file", {"path": ""}, "a path is required"),
    ("read_file", {"path": 42}, "invalid arguments"),
    ("read_file", {}, "Field required"),
    ("write_file", {"path": "x.py", "content": "x", "mode": "a"}, "Extra inputs are not permitted"),
    ("inspect_lines", {"path": "train.py", "start_line": 1, "end_line": 500}, "at most 200 lines"),
    ("read_file", {"path": "train.py", "start_line": 99}, "line 99 does not exist"),
    ("rm_rf", {"path": "."}, "unknown tool 'rm_rf'; valid tools:"),
    ("edit_file", {"path": "train.py", "search": "", "replace": "x"}, "search text is empty"),
    ("list_files", {"path": "../"}, "outside the workspace"),
    ("retrieve_model", {"query": "x"}, "no resource manager"),
    ("write_file", {"path": "data/truth.csv", "content": "id,label\n2,0\n"}, "held-out file of the task"),
    ("write_file", {"path": "./data/truth.csv", "content": "x"}, "held-out"),
    ("write_file", {"path": "train/../data/truth.csv", "content": "x"}, "held-out"),
    ("edit_file", {"path": "data/truth.csv", "search": "2,1", "replace": "2,0"}, "held-out"),
    ("undo_edit", {"path": "data/truth.csv"}, "held-out"),
    ("read_file", {"path": "data/truth.csv"}, "only the evaluation sees it"),
    ("inspect_lines", {"path": "data/truth.csv", "start_line": 1, "end_line": 2}, "held-out"),
    ("list_files", {"path": "data/truth.csv"}, "held-out"),
]


@pytest.mark.parametrize(("tool", "arguments", "expected"), HOSTILE, ids=[f"{t}-{i}" for i, (t, *_ ) in
                                                                          enumerate(HOSTILE)])
def test_hostile_arguments_get_a_clear_observation(box, ws, tmp_path, tool, arguments, expected):
    (ws.root / "link_out").symlink_to(tmp_path / "outside.txt")
    (ws.root / "blob.bin").write_bytes(b"\x00\x01\x02" * 100)
    observation = box.call(tool, arguments)
    assert not observation.ok and expected in observation.text
    assert (tmp_path / "outside.txt").read_text() == "secret outside"
    assert not (tmp_path / "run" / "escape.py").exists() and not (tmp_path / "escape.py").exists()
    assert (ws.root / "evaluate.py").read_text() == "print('METRIC accuracy=0.5')\n"
    assert not (ws.root / "data" / "truth.csv").exists()


@pytest.mark.parametrize("command", [
    "echo $(cat ../../outside.txt) ; rm -rf --no-preserve-root /nonexistent-$$",
    "python -c \"print('\\xff' * 10)\"; printf '\\xff\\xfe invalid utf8'",
    "yes | head -c 5000000",
    "echo 'a\"b' && echo `whoami` | tr a-z A-Z",
])
def test_shell_metacharacters_and_enormous_or_invalid_output_are_observations(box, command):
    observation = box.call("execute", {"command": command})
    assert observation.tool == "execute" and "exit code" in observation.text
    assert len(observation.text) <= 2000 + 100


def test_truncation_keeps_head_and_tail_and_says_how_much():
    text = "HEAD" + "x" * 10_000 + "TAIL"
    cut = truncate(text, 300)
    assert cut.startswith("HEAD") and cut.endswith("TAIL") and "characters cut" in cut


def test_model_written_scripts_lose_leaked_code_fences():
    from copilot.experiment.analyst import clean_code

    assert clean_code("python\nimport pandas\nprint(1)") == "import pandas\nprint(1)\n"
    assert clean_code("```python\nprint(2)\n```") == "print(2)\n"
    assert clean_code("print(3)") == "print(3)\n"


def test_code_is_taken_from_the_fenced_block_of_a_reply():
    from copilot.experiment.analyst import extract_code

    assert extract_code("Sure:\n```python\nprint(1)\n```\nThis prints 1.") == "print(1)\n"
    assert extract_code("```\nimport os\n```\nand\n```py\nimport sys\nprint(sys.argv)\n```") == \
        "import sys\nprint(sys.argv)\n"
    assert extract_code("```python\nprint('cut off by max_tokens')") == "print('cut off by max_tokens')\n"
    assert extract_code("print(2)") == "print(2)\n"


def test_profiling_retries_with_the_error_then_falls_back_to_the_builtin_profiler(scripted, tmp_path):
    """Scripted LLM (canned replies): the failures seen with Qwen2.5-Coder-1.5B, a bare `python` and an echoed error."""
    from copilot.experiment.analyst import analyse_data
    from copilot.sandbox.local import LocalSandbox

    (tmp_path / "ws" / "data").mkdir(parents=True)
    (tmp_path / "ws" / "data" / "train.csv").write_text("x,label\n1,a\n2,b\n3,a\n,b\n")
    (tmp_path / "ws" / "data" / "broken.parquet").write_bytes(b"not parquet")
    llm = scripted(["python", "```python\nThe previous script failed\n```"])
    findings = analyse_data(llm, LocalSandbox(), tmp_path / "ws", "- data/train.csv", tmp_path / "run" / "p.py")
    assert findings.ok and findings.source == "builtin" and findings.tries == 2
    assert "4 rows x 2 columns" in findings.findings and "{'x': 1}" in findings.findings
    assert "'a': 2" in findings.findings and "broken.parquet" in findings.findings
    second = llm.backend.requests[1].messages[-1].content
    assert "printed nothing" in second and "python" in second  # the model saw what it wrote and why it failed

    good = scripted(["```python\nimport pandas as pd\nprint(pd.read_csv('data/train.csv').shape)\n```"])
    findings = analyse_data(good, LocalSandbox(), tmp_path / "ws", "- data/train.csv", tmp_path / "run" / "p.py")
    assert findings.ok and findings.source == "model" and findings.findings.strip() == "(4, 2)"

    # A failed script's error goes back with the coach's advice (here: the columns the table really has, from the
    # missing_column rule, which is among the dropped rules and turned on here).
    from types import SimpleNamespace

    from copilot.coach.small import DROPPED_RULES, RuleCoach

    task = SimpleNamespace(workspace=tmp_path / "ws", spec=SimpleNamespace(hidden=[]))
    coach = RuleCoach(rule_dirs=[str(DROPPED_RULES)]).bind(SimpleNamespace(task=task))
    guess = "```python\nimport pandas as pd\nprint(pd.read_csv('data/train.csv')['Outcome'].mean())\n```"
    advised = scripted([guess, "```python\nimport pandas as pd\nprint(pd.read_csv('data/train.csv')['x'].mean())\n```"])
    findings = analyse_data(advised, LocalSandbox(), tmp_path / "ws", "- data/train.csv", tmp_path / "run" / "p.py",
                            advise=lambda output: coach.run_failed(output, []))
    assert findings.ok and findings.tries == 2 and findings.findings.strip() == "2.0"
    assert "data/train.csv: x, label" in advised.backend.requests[1].messages[-1].content

    none = scripted([])  # no model reply may be asked for: the budget has no time left for one
    findings = analyse_data(none, LocalSandbox(), tmp_path / "ws", "- data/train.csv", tmp_path / "run" / "p.py",
                            can_ask=lambda: False)
    assert findings.ok and findings.source == "builtin" and not none.backend.requests

    # experiment.profiler=builtin (the local presets' suggestion): copilot's own profiler, no model call.
    findings = analyse_data(none, LocalSandbox(), tmp_path / "ws", "- data/train.csv", tmp_path / "run" / "p.py",
                            use_model=False)
    assert findings.ok and findings.source == "builtin" and findings.tries == 0 and not none.backend.requests


def test_the_profiler_is_the_llm_presets_suggestion_unless_chosen():
    """`experiment.profiler=auto` takes `profiler:` of the llm preset (builtin for local and tiny), else the model."""
    from omegaconf import OmegaConf

    from copilot.experiment.episode import profiler

    def cfg(choice: str, suggested: str | None) -> object:
        return OmegaConf.create({"experiment": {"profiler": choice},
                                 "llm": {"name": "x", **({"profiler": suggested} if suggested else {})}})

    assert profiler(cfg("auto", "builtin")) == "builtin" and profiler(cfg("auto", None)) == "model"
    assert profiler(cfg("model", "builtin")) == "model" and profiler(cfg("builtin", None)) == "builtin"
    root = Path(__file__).resolve().parent.parent
    suggested = {p.stem: OmegaConf.load(p).get("profiler") for p in (root / "conf" / "llm").glob("*.yaml")}
    assert suggested["local"] == suggested["tiny"] == "builtin" and suggested["claude"] is None


def test_wide_lines_are_cut_with_a_note(ws):
    (ws.root / "wide.csv").write_text(",".join(f"pixel_{i}" for i in range(200)) + "\nshort\n")
    text = ws.read_file("wide.csv")
    first = text.splitlines()[1]
    assert first.startswith("    1| pixel_0,pixel_1") and first.endswith("more characters]") and len(first) < 300
    assert text.splitlines()[2] == "    2| short"


def test_data_files_show_at_most_ten_short_rows_per_view(ws):
    (ws.root / "data" / "big.csv").write_text("\n".join(",".join(str(i * j) for j in range(80)) for i in range(50)))
    text = ws.read_file("data/big.csv", 5, 40)
    rows = [line for line in text.splitlines() if line[:5].strip().isdigit()]
    assert [int(r[:5]) for r in rows] == list(range(5, 15)) and all(len(r) < 220 for r in rows)
    assert "at most 10 rows per view" in text


def test_profiling_output_keeps_a_long_run_of_same_shaped_lines_short():
    """The embedded model's profiling script printed `value_counts()` of 60 unique dates, one line each."""
    from copilot.experiment.analyst import compact_output

    dates = "".join(f"2023-11-{day:02d}    1\n" for day in range(1, 31))
    text = "Distribution of date: date\n" + dates + "Name: count, Length: 30, dtype: int64\n"
    short = compact_output(text)
    assert short.splitlines() == ["Distribution of date: date", "2023-11-01    1", "2023-11-02    1",
                                  "2023-11-03    1", "... (26 more lines like these)", "2023-11-30    1",
                                  "Name: count, Length: 30, dtype: int64"]
    table = "mean    305.1\nstd     100.0\nmin     110.9\nmax     645.9\n\n\n\n\n\n"
    assert compact_output(table) == table, "lines that differ in words, and blank lines, all stay"
