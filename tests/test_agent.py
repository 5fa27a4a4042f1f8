"""The implementation agent with a scripted LLM (canned replies, see tests/conftest.py ScriptedBackend): a full
episode, a malformed action recovered, each budget ending the episode cleanly, and compaction that happens once
and keeps the conversation prefix stable."""

from __future__ import annotations

import json
import time

import pytest

from copilot.coach.small import RuleCoach
from copilot.experiment.agent import AgentConfig, ExperimentAgent
from copilot.experiment.tools import ToolBox
from copilot.experiment.workspace import Workspace
from copilot.llm.client import LLM
from copilot.rundir import JsonlWriter, read_jsonl
from copilot.sandbox.local import LocalSandbox
from tests.conftest import ScriptedBackend


@pytest.fixture
def workspace(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text("print('acc', 0.5)\n")
    return Workspace.create(source, tmp_path / "run" / "workspace", [], tmp_path / "run" / "traces")


def agent_for(workspace, script, tmp_path, coach=None, **config) -> tuple[ExperimentAgent, ScriptedBackend]:
    """The tool agent with the default coach (`coach=small`) but for the rule that sends back a final answer of an
    episode that changed nothing (tested on its own below)."""
    backend = ScriptedBackend(script)
    llm = LLM(backend)
    coach = coach or RuleCoach(disabled=["unchanged_final"])
    box = ToolBox(workspace, sandbox=LocalSandbox(), llm=llm, run_timeout_s=20, coach=coach)
    agent = ExperimentAgent(llm, box, AgentConfig(**config), trace=JsonlWriter(tmp_path / "trace.jsonl"), coach=coach)
    return agent, backend


def call(tool, **arguments):
    return {"tool": tool, "arguments": arguments}


def test_a_full_episode_edits_runs_and_finishes(workspace, tmp_path):
    agent, backend = agent_for(workspace, [
        call("read_file", path="train.py"),
        call("edit_file", path="train.py", search="0.5", replace="0.9"),
        call("execute", command="python train.py"),
        call("final_answer", summary="raised it", claimed_metric=0.9),
    ], tmp_path)
    result = agent.run("Improve the script.")
    assert (result.status, result.steps, result.summary, result.claimed_metric) == ("final", 4, "raised it", 0.9)
    assert (workspace.root / "train.py").read_text() == "print('acc', 0.9)\n"
    trace = list(read_jsonl(tmp_path / "trace.jsonl"))
    assert [t["action"]["tool"] for t in trace] == ["read_file", "edit_file", "execute", "final_answer"]
    assert "acc 0.9" in trace[2]["observation"]["text"]
    # The conversation only grows: each request starts with the previous request's messages.
    for before, after in zip(backend.requests, backend.requests[1:], strict=False):
        assert after.messages[: len(before.messages)] == before.messages
    assert (tmp_path / "run" / "traces" / "step_2" / "changes.diff").is_file()


def test_a_reply_without_a_tool_call_gets_a_corrective_message_and_the_episode_goes_on(workspace, tmp_path):
    agent, backend = agent_for(workspace, ["I think I should read the file.", call("final_answer", summary="ok")],
                               tmp_path)
    result = agent.run("task")
    assert result.status == "final"
    assert "Format error" in backend.requests[1].messages[-1].content
    assert next(iter(read_jsonl(tmp_path / "trace.jsonl")))["observation"]["ok"] is False


def test_too_many_format_errors_end_the_episode(workspace, tmp_path):
    agent, _ = agent_for(workspace, ["no", "still no", "nope"], tmp_path, max_format_errors=3)
    assert agent.run("task").status == "format_errors"


def test_the_step_budget(workspace, tmp_path):
    agent, _ = agent_for(workspace, [call("list_files")] * 3, tmp_path, max_steps=3)
    result = agent.run("task")
    assert (result.status, result.steps) == ("steps", 3)


def test_the_token_budget(workspace, tmp_path):
    agent, _ = agent_for(workspace, [call("list_files")] * 5, tmp_path, max_tokens=250)  # 110 tokens per call
    result = agent.run("task")
    assert result.status == "tokens" and result.steps == 3


def test_the_cost_budget(workspace, tmp_path):
    agent, _ = agent_for(workspace, [call("list_files")] * 5, tmp_path, max_cost_usd=0.001)
    agent.llm.price = __import__("copilot.llm.pricing", fromlist=["Price"]).Price(input=5.0, output=5.0)
    result = agent.run("task")
    assert result.status == "cost" and result.steps == 2  # 110 tokens at $5/M per call: $0.0011 after two calls


def test_the_wall_clock_budget(workspace, tmp_path):
    agent, _ = agent_for(workspace, [call("list_files")] * 5, tmp_path, deadline=time.monotonic() - 1)
    assert agent.run("task").status == "wall_clock"


def test_compaction_happens_once_and_keeps_recent_steps_verbatim(workspace, tmp_path):
    # ScriptedBackend reports 110 tokens per call; the next prompt is estimated at that plus the new observation and
    # the reply budget, so with a 160-token window the soft threshold (120) is crossed from the first step on.
    script = [call("list_files"), call("read_file", path="train.py"), "- listed files\n- read train.py",
              call("list_files"), call("final_answer", summary="done")]
    agent, backend = agent_for(workspace, script, tmp_path, context_tokens=160, compact_at=0.75,
                               keep_recent_steps=1, reply_max_tokens=10)
    result = agent.run("task")
    assert result.status == "final" and result.compactions == 1
    summary_request = backend.requests[2]
    # asked as a continuation of the conversation (same prefix for the KV cache), tools listed but not callable
    assert summary_request.tool_choice == "none" and summary_request.tools
    assert summary_request.messages[:-1] == backend.requests[1].messages + summary_request.messages[-3:-1]
    assert "Summarise the steps of this conversation" in summary_request.messages[-1].content
    after = backend.requests[3].messages
    assert after[0].role == "system" and after[1].content == "task"
    assert after[2].content.startswith("Summary of the earlier steps (compacted):\n- listed files")
    assert after[3].role == "assistant" and json.loads(after[3].content)["tool"] == "read_file"


def test_a_context_overflow_is_recovered_by_compacting_and_retrying(workspace, tmp_path):
    from copilot.llm.base import ContextOverflowError

    script = [call("list_files"), call("read_file", path="train.py"), ContextOverflowError("prompt too long"),
              "- listed and read files", call("final_answer", summary="done")]
    agent, backend = agent_for(workspace, script, tmp_path, context_tokens=100_000)
    result = agent.run("task")
    assert result.status == "final" and result.compactions == 1
    retried = backend.requests[-1].messages
    assert retried[2].content.startswith("Summary of the earlier steps") and len(retried) == 5


def test_an_overflow_that_compaction_cannot_fix_ends_the_episode_cleanly(workspace, tmp_path):
    from copilot.llm.base import ContextOverflowError

    agent, _ = agent_for(workspace, [ContextOverflowError("the task alone is too long")], tmp_path)
    assert agent.run("task").status == "context"


def test_the_same_look_twice_in_a_row_is_not_repeated_but_pointed_out(workspace, tmp_path):
    """Scripted LLM (canned actions): the loop Qwen2.5-Coder-1.5B fell into, reading the same lines step after step."""
    read = call("read_file", path="train.py", start_line=1, end_line=1)
    agent, _ = agent_for(workspace, [read, read, call("final_answer", summary="x")], tmp_path)
    result = agent.run("task")
    assert result.status == "final"
    tool_texts = [m.content for m in agent.messages if m.role == "tool"]
    assert "train.py: lines 1-1" in tool_texts[0] and "the result is in the previous step" in tool_texts[1]


def test_a_final_answer_without_any_change_is_sent_back_once(workspace, tmp_path):
    """Scripted LLM (canned actions): Qwen2.5-Coder-1.5B ended improve episodes with 'no change is needed'."""
    done = call("final_answer", summary="no change is needed")
    agent, _ = agent_for(workspace, [done, call("edit_file", path="train.py", search="0.5", replace="0.7"), done],
                         tmp_path, coach=RuleCoach())
    result = agent.run("task")
    assert result.status == "final" and result.steps == 3
    assert "no file has changed in this episode" in next(m.content for m in agent.messages if m.role == "tool")
    stubborn, _ = agent_for(workspace, [done, done], tmp_path, coach=RuleCoach())
    assert stubborn.run("task").status == "final"  # refused once only: a model may insist


def test_a_look_repeated_from_the_previous_episode_is_run_again(workspace, tmp_path):
    """Scripted LLM (canned actions): a new episode's conversation does not hold the earlier episode's result."""
    read = call("read_file", path="train.py")
    agent, _ = agent_for(workspace, [read, read], tmp_path, max_steps=1)  # each episode ends after its one read
    assert agent.run("first").status == "steps"
    agent.run("second")
    assert "train.py: lines 1-1" in next(m.content for m in agent.messages if m.role == "tool")


def test_the_task_block_names_the_held_out_files_only_when_there_are_some(workspace, tmp_path):
    from copilot.idea.models import ExperimentPlan

    agent, _ = agent_for(workspace, [], tmp_path)
    plan = ExperimentPlan(hypothesis_title="h", datasets=[], baselines=["starter"], metric="accuracy",
                          metric_direction="maximize", steps=["improve"], expected_outcome="better",
                          compute_budget="minutes", workspace_files=[])
    values = {"title": "t", "instruction": "Do it.", "plan": plan, "metric": "accuracy", "direction": "maximize",
              "evaluate": "python evaluate.py", "run": "python train.py", "timeout": 60, "workspace": "- train.py",
              "read_only": ["evaluate.py"], "resources": [], "findings": "", "history": "", "testing": None,
              "paper_method": "", "plan_method": "", "constraints": []}
    block = agent.render("task.j2", **values, hidden=["data/test_labels.csv", "data/truth.csv"])
    line = next(line for line in block.splitlines() if line.startswith("Held-out files"))
    assert "only the evaluation sees them" in line and line.endswith("data/test_labels.csv, data/truth.csv")
    assert "Held-out" not in agent.render("task.j2", **values, hidden=[])
    assert "Read-only files (the tools refuse to change them): evaluate.py\n" in block
    with_model = agent.render("task.j2", **{**values, "resources": ["model m: /models/m"]}, hidden=[])
    assert "There is no network: load these models and data from the local paths" in with_model
    assert "- model m: /models/m" in with_model and "There is no network" not in block
    assert "The paper's method" not in block
    with_method = agent.render("task.j2", **{**values, "paper_method": "## Method\nOLS on log(sales)."}, hidden=[])
    assert "## The paper's method (verbatim)\n## Method\nOLS on log(sales).\n" in with_method
    assert "Method:" not in block and "Hypothesis: h\n1. improve\n" in block
    with_plan_method = agent.render("task.j2", **{**values, "plan_method": "Fit OLS on log(sales)."}, hidden=[])
    assert "Hypothesis: h\nMethod: Fit OLS on log(sales).\nSteps:\n1. improve\n" in with_plan_method
    repairing = agent.render("task.j2", **{**values, "plan": None}, hidden=[])  # making the starter run first
    assert "## Plan" not in repairing and "Hypothesis:" not in repairing and "## Workspace" in repairing


def test_work_ends_early_enough_to_measure_the_last_attempt_and_re_execute_the_best():
    """The run's closing work (measuring the last attempt, re-executing the best, the report) fits in the budget: a
    forecast run whose last model call ended just in time still ended at 906 s of 900 before this."""
    from copilot.budget import Budget

    now = [1000.0]
    budget = Budget(wall_clock_s=900, clock=lambda: now[0])
    assert budget.work_deadline() == 1900.0 - budget.closing_s  # nothing measured yet
    budget.note_attempt(2.5)
    budget.note_attempt(12.0)
    assert budget.work_deadline() == 1900.0 - 24.0 - budget.closing_s
    assert budget.can_start(100.0) and not budget.can_start(900.0)
    now[0] = 1890.0
    assert not budget.can_start(0.0) and budget.remaining_s() == 10.0
    assert budget.idea_deadline() == 1000.0 + 0.25 * 900


def test_stage_one_alone_may_use_the_whole_wall_clock():
    """With experiments to follow, stage 1 keeps to its share; run alone (stages=[idea]) nothing else needs the time."""
    from copilot.budget import idea_share_for

    assert idea_share_for(["idea", "experiment", "execution"], 0.25) == 0.25
    assert idea_share_for(["idea"], 0.25) == 1.0
    assert idea_share_for(["idea", "experiment"], 0.4) == 1.0


def test_a_token_or_cost_limit_stops_new_work():
    from copilot.budget import Budget

    spent = [(100, 0.0)]
    budget = Budget(wall_clock_s=900, tokens=150, cost_usd=1.0, usage=lambda: spent[0])
    assert budget.spent() is None and budget.can_start(1.0)
    spent[0] = (150, 0.0)
    assert budget.spent() == "tokens" and not budget.can_start(1.0)
    spent[0] = (0, 1.5)
    assert budget.spent() == "cost"
    assert Budget(wall_clock_s=1, attempts=3).attempts_left(2) == 1
