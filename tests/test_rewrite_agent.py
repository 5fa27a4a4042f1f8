"""The whole-file implementation strategy (copilot/experiment/rewrite.py) with a scripted LLM: the replies below are
canned test input, not model output. The scripts really run in the local sandbox."""

from __future__ import annotations

import time

import pytest

from copilot.coach.small import DROPPED_RULES, RuleCoach
from copilot.experiment.agent import AgentConfig
from copilot.experiment.rewrite import (
    RETRY_TEMPERATURE,
    CarriedConversation,
    RewriteAgent,
    script_for_command,
    split_reply,
    split_task_message,
)
from copilot.experiment.tools import ToolBox
from copilot.experiment.workspace import Workspace
from copilot.llm.base import Completion, Usage
from copilot.llm.client import LLM
from copilot.rundir import JsonlWriter, read_jsonl
from copilot.sandbox.local import LocalSandbox
from tests.conftest import ScriptedBackend

STARTER = "open('out.txt', 'w').write('0.5')\n"


@pytest.fixture
def workspace(tmp_path):
    source = tmp_path / "src"
    (source / "src").mkdir(parents=True)
    (source / "train.py").write_text(STARTER)
    (source / "src" / "run.py").write_text("print(1)\n")
    (source / "evaluate.py").write_text("print('eval')\n")
    return Workspace.create(source, tmp_path / "run" / "workspace", ["evaluate.py"], tmp_path / "run" / "traces")


def agent_for(workspace, script, tmp_path, coach=None, **config):
    """The rewrite agent with the default coach (`coach=small`), as a run builds it."""
    backend = ScriptedBackend(script)
    llm = LLM(backend)
    coach = coach or RuleCoach()
    box = ToolBox(workspace, sandbox=LocalSandbox(), llm=llm, run_timeout_s=20, coach=coach)
    agent = RewriteAgent(llm, box, AgentConfig(**config), script="train.py", run_command="python train.py",
                         trace=JsonlWriter(tmp_path / "trace.jsonl"), coach=coach)
    return agent, backend


def fenced(code: str, prose: str = "Changed it.") -> str:
    return f"Here is the file:\n```python\n{code}```\n{prose}"


@pytest.mark.parametrize(("command", "expected"), [
    ("python train.py", "train.py"),
    ("python3 -u src/run.py --epochs 3", "src/run.py"),
    ("python ./train.py", "train.py"),
    ("bash run.sh", None),
    ("python -m src.run", None),
    ("python missing.py", None),
    ("python ../outside.py", None),
    ("python train.py && python evaluate.py", None),
    ("python train.py; rm -rf data", None),
    ("python 'unbalanced", None),
    ("", None),
])
def test_the_script_a_run_command_names(workspace, command, expected):
    assert script_for_command(command, workspace.root) == expected


def test_split_reply_takes_the_longest_block_and_keeps_the_prose():
    code, prose = split_reply("Plan:\n```python\nx = 1\n```\nthen\n```python\nimport os\nprint(os.sep)\n```\nDone.")
    assert code == "import os\nprint(os.sep)\n"
    assert "Plan:" in prose and "Done." in prose and "import os" not in prose
    assert split_reply("no code here, sorry") == (None, "no code here, sorry")


def test_an_episode_repairs_a_failing_script_and_ends_when_it_runs(workspace, tmp_path):
    crashing = "import pandas_does_not_exist\npandas_does_not_exist.run()\n"  # used: no repair can drop it
    working = "open('out.txt', 'w').write('0.9')\nprint('done')\n"
    agent, backend = agent_for(workspace, [fenced(crashing), fenced(working, "Wrote 0.9 instead.")], tmp_path)
    result = agent.run("# Task\nRaise the number.")
    assert (result.status, result.steps, result.summary) == ("final", 2, "Here is the file: Wrote 0.9 instead.")
    assert (workspace.root / "train.py").read_text() == working
    assert (workspace.root / "out.txt").read_text() == "0.9"
    # The model saw the task, the current file, and on the second request the failing file with its error.
    first, second = (r.messages[-1].content for r in backend.requests)
    assert first.startswith("# Task\nRaise the number.") and STARTER.strip() in first
    assert "pandas_does_not_exist" in second and "ModuleNotFoundError" in second
    trace = list(read_jsonl(tmp_path / "trace.jsonl"))
    assert [(t["action"]["tool"], t["observation"]["ok"]) for t in trace] == [
        ("write_file", True), ("execute", False), ("write_file", True), ("execute", True)]
    assert all(t["strategy"] == "rewrite" for t in trace)
    assert trace[0]["prompt_tokens"] == 100 and trace[1]["prompt_tokens"] is None
    # Each written version is a recorded step with its diff, and undo history exists.
    assert (tmp_path / "run" / "traces" / f"step_{trace[0]['step']}" / "changes.diff").is_file()


def test_a_reply_without_code_or_with_the_same_file_is_sent_back(workspace, tmp_path):
    working = "open('out.txt', 'w').write('0.7')\n"
    agent, backend = agent_for(workspace, ["I would use a bigger model.", fenced(STARTER), fenced(working)],
                               tmp_path)
    agent.max_repeats = 2  # asked once more after a repeat (the default ends the episode there: see below)
    result = agent.run("task")
    assert (result.status, result.steps) == ("final", 3)
    assert "no ```python code block" in backend.requests[1].messages[-1].content
    assert "repeated this file unchanged" in backend.requests[2].messages[-1].content
    # A repeat is asked again at a higher temperature (the same prompt at 0.2 gives the same reply).
    assert [r.temperature for r in backend.requests] == [None, None, 0.8]
    assert (workspace.root / "train.py").read_text() == working


def test_a_reply_that_only_adds_comments_is_sent_back_as_no_change(workspace, tmp_path):
    commented = ('"""Reproduce the paper."""\n# Add only this part of the method, and change nothing else\n'
                 + STARTER + "# Write the predictions\n")
    working = "open('out.txt', 'w').write('0.7')\n"
    agent, backend = agent_for(workspace, [fenced(commented), fenced(working)], tmp_path)
    agent.max_repeats = 2
    result = agent.run("task")
    assert (result.status, result.steps) == ("final", 2)
    second = backend.requests[1].messages[-1].content
    assert "changed only comments of this file, or added code that nothing calls" in second
    assert "repeated this file unchanged" not in second
    assert [r.temperature for r in backend.requests] == [None, 0.8]
    trace = list(read_jsonl(tmp_path / "trace.jsonl"))
    assert trace[0]["observation"] == {
        "ok": False, "text": "the reply repeats the current code with other comments or unused additions"}
    assert (workspace.root / "train.py").read_text() == working


def test_a_fix_round_asks_for_the_fix_and_keeps_the_error_when_the_file_comes_back_unchanged(workspace, tmp_path):
    """Scripted replies: the embedded model answered a NameError with the same file twice, because the prompt then
    ended on the original instruction and, after the repeat, no longer showed the error."""
    crashing = "model = SentenceTransformer('/models/minilm')\n"
    working = "open('out.txt', 'w').write('0.8')\n"
    coach = RuleCoach(rule_dirs=[str(DROPPED_RULES)], disabled=["missing_imports"])  # the advice, not the repair
    agent, backend = agent_for(workspace, [fenced(crashing), fenced(crashing), fenced(working)], tmp_path, coach)
    agent.max_repeats = 2
    result = agent.run("# Task\nUse the encoder.", "Replace TF-IDF with the sentence encoder.")
    assert (result.status, result.steps) == ("final", 3)
    first, second, third = (" ".join(r.messages[-1].content.split()) for r in backend.requests)
    assert first.endswith("Replace TF-IDF with the sentence encoder. Write the complete new train.py that does "
                          "this. Reply with the whole file in one ```python block, then one sentence saying what you "
                          "changed.")
    for ask in (second, third):
        assert "NameError: name 'SentenceTransformer' is not defined" in ask
        assert "add `from sentence_transformers import SentenceTransformer` at the top of the file" in ask
        assert "Fix the cause of the error above" in ask and "Write the complete corrected train.py." in ask
        assert "The task is still: Replace TF-IDF with the sentence encoder." in ask
    assert "repeated this file unchanged" not in second
    assert "Your last reply repeated this file unchanged, so it would only fail the same way." in third
    assert [r.temperature for r in backend.requests] == [None, None, 0.8]


def test_a_dropped_data_line_is_put_back_recorded_and_the_script_runs(workspace, tmp_path):
    """Scripted reply shaped like the embedded model's: the new version uses `rows` but lost the line loading it."""
    (workspace.root / "train.py").write_text("import json\nrows = [3, 1, 2]\nprint(sorted(rows))\n")
    dropped = "import json\n\n# the change: write the maximum\nopen('out.txt', 'w').write(json.dumps(max(rows)))\n"
    agent, backend = agent_for(workspace, [fenced(dropped, "Wrote the maximum.")], tmp_path,
                               RuleCoach(rule_dirs=[str(DROPPED_RULES)]))
    result = agent.run("task", "Write the maximum.")
    assert result.status == "final" and len(backend.requests) == 1, "no model reply was spent on the repair"
    assert "copilot restored `rows` from the earlier working version: rows = [3, 1, 2]" in result.summary
    assert (workspace.root / "train.py").read_text() == (
        "import json\n\n# the change: write the maximum\nrows = [3, 1, 2]\n"
        "open('out.txt', 'w').write(json.dumps(max(rows)))\n")
    assert (workspace.root / "out.txt").read_text() == "3"
    trace = list(read_jsonl(tmp_path / "trace.jsonl"))
    assert [(t["action"]["tool"], t["observation"]["ok"]) for t in trace] == [
        ("write_file", True), ("execute", False), ("write_file", True), ("execute", True)]
    assert trace[2]["action"]["repair"].startswith("restored `rows`")


def test_with_repair_off_the_model_gets_the_error_and_the_quoted_line(workspace, tmp_path):
    (workspace.root / "train.py").write_text("rows = [3, 1, 2]\nprint(sorted(rows))\n")
    agent, backend = agent_for(workspace, [fenced("print(max(rows))\n"), fenced("rows = [3]\nprint(max(rows))\n")],
                               tmp_path, coach=RuleCoach(rule_dirs=[str(DROPPED_RULES)],
                                                         disabled=["restore_dropped_lines"]))
    assert agent.run("task").status == "final" and len(backend.requests) == 2
    assert "by:\nrows = [3, 1, 2]\n" in backend.requests[1].messages[-1].content


def test_a_reply_cut_for_looping_is_not_run_and_the_model_is_told_why(workspace, tmp_path):
    """Scripted replies; the first stands for one the local backend cut (finish_reason='repetition')."""
    looped = Completion(text="```python\nmodel = NBEATS(\n    layers=1,\n    layers=1,\n    layers=1,",
                        usage=Usage(prompt_tokens=100, completion_tokens=300), finish_reason="repetition")
    working = "open('out.txt', 'w').write('0.6')\n"
    agent, backend = agent_for(workspace, [looped, fenced(working)], tmp_path)
    assert agent.run("task").status == "final"
    assert "repeated the same lines over and over and was cut off" in backend.requests[1].messages[-1].content
    trace = list(read_jsonl(tmp_path / "trace.jsonl"))
    assert [t["action"] and t["action"]["tool"] for t in trace] == [None, "write_file", "execute"]


def test_a_reply_cut_inside_its_code_block_is_not_run_and_not_handed_on(workspace, tmp_path):
    """Scripted replies; the first stands for one that reached its token limit while writing the file out item by
    item (finish_reason='length', the fence never closed). It is not written or run, the model is told to write the
    file shorter in a fresh prompt, and an episode that ends on it hands no conversation on. A reply whose code block
    closed before the limit is used as usual."""
    cut = Completion(text='```python\nx = [row["p_0"], row["p_1"], row["p_2"], row["p_',
                     usage=Usage(prompt_tokens=100, completion_tokens=2048), finish_reason="length")
    agent, backend = agent_for(workspace, [cut, cut], tmp_path)
    agent.max_rounds, agent.carried = 2, CarriedConversation()
    assert agent.run("task").status == "steps"
    assert (workspace.root / "train.py").read_text() == STARTER, "the cut file was never written"
    again = backend.requests[1].messages
    assert len(again) == 2 and "reached its length limit inside the code block" in again[-1].content
    assert "with a loop or a comprehension" in again[-1].content
    assert agent.carried.messages == []
    closed = Completion(text=fenced("open('out.txt', 'w').write('0.7')\n", "Changed it, because " + "x" * 50),
                        usage=Usage(prompt_tokens=100, completion_tokens=2048), finish_reason="length")
    agent, _ = agent_for(workspace, [closed], tmp_path)
    assert agent.run("task").status == "final" and (workspace.root / "out.txt").read_text() == "0.7"


def test_the_rounds_end_the_episode_when_no_version_runs(workspace, tmp_path):
    agent, _ = agent_for(workspace, [fenced(f"raise SystemExit({code})\n") for code in (3, 4, 5)], tmp_path)
    agent.max_rounds = 3
    result = agent.run("task")
    assert (result.status, result.steps) == ("steps", 3)
    assert (workspace.root / "train.py").read_text() == "raise SystemExit(5)\n"


def test_a_reply_that_repeats_the_file_ends_the_episode(workspace, tmp_path):
    """Scripted replies: asked again after a repeat, the embedded model wrote a new file in 1 of 10 rounds of the real
    suite's first run (50 s a reply); by default the first repeat ends the episode."""
    agent, backend = agent_for(workspace, [fenced("raise SystemExit(3)\n")] * 3, tmp_path)
    result = agent.run("task")
    assert (result.status, result.steps, len(backend.requests)) == ("steps", 2, 2)
    assert (workspace.root / "train.py").read_text() == "raise SystemExit(3)\n"


def test_the_step_budget_counts_model_replies(workspace, tmp_path):
    agent, backend = agent_for(workspace, [fenced("raise SystemExit(3)\n")] * 3, tmp_path, max_steps=2)
    result = agent.run("task")
    assert (result.status, result.steps, len(backend.requests)) == ("steps", 2, 2)


def test_the_wall_clock_budget_ends_the_episode_before_a_model_call(workspace, tmp_path):
    agent, backend = agent_for(workspace, [], tmp_path, deadline=0.0)
    assert agent.run("task").status == "wall_clock"
    assert backend.requests == []


def test_no_model_call_starts_that_would_likely_end_past_the_deadline(workspace, tmp_path):
    """A local model's whole-script reply takes one to two minutes: with 60 s left after calls of 80-120 s, the
    episode ends before asking, and an earlier call's latency is what the estimate uses."""
    working = "open('out.txt', 'w').write('0.9')\n"
    agent, backend = agent_for(workspace, [fenced(working)], tmp_path, deadline=time.monotonic() + 60)
    agent.llm.recent_latencies_s = [90.0, 120.0, 80.0]
    assert agent.llm.expected_call_s() == 90.0
    assert agent.run("task").status == "wall_clock" and backend.requests == []
    agent.llm.recent_latencies_s = [2.0]
    assert agent.run("task").status == "final" and len(backend.requests) == 1
    assert len(agent.llm.recent_latencies_s) == 2 and agent.llm.recent_latencies_s[-1] < 5


def test_a_read_only_target_is_refused_like_any_write(workspace, tmp_path):
    backend = ScriptedBackend([fenced("print('forged')\n")] * 2)
    llm = LLM(backend)
    box = ToolBox(workspace, sandbox=LocalSandbox(), llm=llm, run_timeout_s=20)
    agent = RewriteAgent(llm, box, AgentConfig(), script="evaluate.py", run_command="python evaluate.py",
                         max_rounds=2)
    result = agent.run("task")
    assert result.status == "steps"
    assert (workspace.root / "evaluate.py").read_text() == "print('eval')\n"
    assert "read-only" in backend.requests[1].messages[-1].content


def test_the_instruction_is_restated_after_the_file(workspace, tmp_path):
    agent, backend = agent_for(workspace, [fenced("open('out.txt', 'w').write('1')\n")], tmp_path)
    agent.run("# Task\nUse a forest.\n## Plan\n...", instruction="Use a forest.")
    prompt = backend.requests[0].messages[-1].content
    assert prompt.index("## Current train.py") < prompt.index("## What to do now\nUse a forest.")
    assert prompt.rstrip().endswith("then one sentence saying what you changed.")


def test_a_fix_round_continues_the_conversation_so_the_prompt_read_is_reused(workspace, tmp_path):
    """Scripted replies: after a version that fails as written, the next request is the last one, the reply and the
    error (a local model then evaluates only that turn); the file is not shown again. When the conversation would
    not fit the context window, the opening is rebuilt around the current file."""
    crashing = "import pandas_does_not_exist\npandas_does_not_exist.run()\n"
    still = "import pandas_does_not_exist as p\np.run()\n"
    working = "open('out.txt', 'w').write('0.9')\n"
    agent, backend = agent_for(workspace, [fenced(crashing), fenced(still), fenced(working)], tmp_path)
    assert agent.run("# Task\nRaise the number.", "Raise it.").status == "final"
    first, second, third = (r.messages for r in backend.requests)
    assert second[:2] == first and second[2].role == "assistant" and "pandas_does_not_exist.run()" in second[2].content
    assert third[:4] == second and len(third) == 6
    follow = second[-1].content
    assert "## Current train.py" not in follow and "with the file of your last reply gave" in follow
    assert "ModuleNotFoundError" in follow and "The task is still: Raise it." in follow

    big = "# " + "padding " * 2000 + "\n"  # about 6,000 tokens by the estimate: no room for the conversation
    (workspace.root / "train.py").write_text(big + STARTER)
    agent, backend = agent_for(workspace, [fenced(big + crashing), fenced(working)], tmp_path, context_tokens=9000)
    assert agent.run("# Task", "Raise it.").status == "final"
    second = backend.requests[1].messages
    assert len(second) == 2 and "## Current train.py" in second[-1].content
    assert "ModuleNotFoundError" in second[-1].content


CRASHING = "import math\n\nvalue = math.sqr(16)\nopen('out.txt', 'w').write(str(value))\n"
CRASH_TRACEBACK = ('Traceback (most recent call last):\n  File "/runs/a000/workspace/train.py", line 3, in <module>\n'
                   "    value = math.sqr(16)\nAttributeError: module 'math' has no attribute 'sqr'")


def test_a_repeated_file_in_a_repair_episode_is_followed_by_a_fix_of_the_failing_lines(workspace, tmp_path):
    """Scripted replies: the whole-file reply repeats the crashing file (what the embedded model did in every repair
    round of diabetes-gbr); the line fix, shown the lines around the failing one, corrects that line; it runs."""
    (workspace.root / "train.py").write_text(CRASHING)
    agent, backend = agent_for(workspace, [fenced(CRASHING), "```python\nvalue = math.sqrt(16)\n```\nUsed sqrt."],
                               tmp_path)
    instruction = f"Make the baseline run. It failed with:\n{CRASH_TRACEBACK}"
    result = agent.run(f"# Task\n{instruction}", instruction)
    assert (result.status, result.steps, result.summary) == ("final", 2, "Used sqrt.")
    assert (workspace.root / "train.py").read_text() == CRASHING.replace("sqr(", "sqrt(")
    assert (workspace.root / "out.txt").read_text() == "4.0"
    line_fix = backend.requests[1]
    assert "fixes failing Python scripts" in line_fix.messages[0].content
    ask = line_fix.messages[-1].content
    assert "Lines 1-4 of train.py (line 3 is where it failed)" in ask and "has no attribute 'sqr'" in ask
    assert "import math" in ask and len(line_fix.messages) == 2  # a fresh, short request
    trace = list(read_jsonl(tmp_path / "trace.jsonl"))
    assert trace[-2]["action"]["line_fix"] == "lines 1-4" and trace[-1]["action"]["tool"] == "execute"


def test_a_line_fix_that_cannot_be_placed_is_asked_again_hotter_and_a_new_error_gets_a_new_window(workspace, tmp_path):
    """Scripted replies: an unplaceable fix, then one that fails on another line, then the fix of that line."""
    crashing = CRASHING + "total = valu + 1\n"
    (workspace.root / "train.py").write_text(crashing)
    script = [fenced(crashing), "```python\na = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\ng = 7\n```",
              "```python\nvalue = math.sqrt(16)\n```", "```python\ntotal = value + 1\n```\nFixed the name."]
    agent, backend = agent_for(workspace, script, tmp_path)
    instruction = f"Fix it:\n{CRASH_TRACEBACK}"
    result = agent.run(instruction, instruction)
    assert (result.status, result.steps) == ("final", 4)
    assert [r.temperature for r in backend.requests[1:]] == [None, RETRY_TEMPERATURE, None]
    assert "NameError: name 'valu' is not defined" in backend.requests[3].messages[-1].content
    assert (workspace.root / "train.py").read_text().endswith("total = value + 1\n")


def test_line_fixes_end_the_episode_when_none_makes_the_script_run(workspace, tmp_path):
    (workspace.root / "train.py").write_text(CRASHING)
    agent, backend = agent_for(workspace, [fenced(CRASHING)] + ["```python\nvalue = math.sqr(16)\n```"] * 3,
                               tmp_path)
    agent.max_line_fixes = 2
    instruction = f"Fix it:\n{CRASH_TRACEBACK}"
    result = agent.run(instruction, instruction)
    assert (result.status, result.steps, len(backend.requests)) == ("steps", 3, 3)
    assert (workspace.root / "train.py").read_text() == CRASHING


def test_the_file_comes_before_the_parts_of_the_task_block_that_vary_between_episodes(workspace, tmp_path):
    """Scripted reply. Episodes that start from the same file share the task, the plan and the file in the prompt's
    prefix (the embedded model's KV cache); the earlier attempts and this episode's instruction follow the file."""
    task = ("# Task: t\n\n## Plan\nHypothesis: h\n\n## Earlier attempts\n- a000 (baseline from start): ok\n\n"
            "## This episode\nRaise the number.")
    assert split_task_message(task) == ("# Task: t\n\n## Plan\nHypothesis: h\n",
                                        "\n## Earlier attempts\n- a000 (baseline from start): ok\n\n"
                                        "## This episode\nRaise the number.")
    assert split_task_message("# Task\nno sections") == ("# Task\nno sections\n", "")
    agent, backend = agent_for(workspace, [fenced("open('out.txt', 'w').write('0.9')\n")], tmp_path)
    assert agent.run(task, "Raise the number.").status == "final"
    ask = backend.requests[0].messages[-1].content
    order = [ask.index(part) for part in ("## Plan", "## Current train.py", STARTER.strip(), "## Earlier attempts",
                                          "## What to do now")]
    assert order == sorted(order)
    # "What to do now" restates the instruction right after the varying sections: the task block's own copy is left
    # out (it would only be evaluated twice).
    assert "## This episode" not in ask and ask.count("Raise the number.") == 1


def test_the_debug_episode_of_a_failed_episode_takes_its_conversation_up(workspace, tmp_path):
    """Scripted replies. The episode after one whose last file failed, starting from that file, goes on with the
    conversation (the failed reply, then its own instruction) instead of showing the file again: a local model then
    evaluates only the new turn. An episode starting from another file, or after a working one, starts afresh."""
    crashing = "raise SystemExit('broken: ' + 'on purpose')\n"
    working = "open('out.txt', 'w').write('0.9')\n"
    carried = CarriedConversation()
    backend = ScriptedBackend([fenced(crashing), fenced(working), fenced(working.replace("0.9", "0.8"))])
    llm = LLM(backend)
    task = "# Task: t\n\n## Earlier attempts\n- a000: ok\n\n## This episode\n"

    def agent():
        box = ToolBox(workspace, sandbox=LocalSandbox(), llm=llm, run_timeout_s=20, coach=RuleCoach())
        return RewriteAgent(llm, box, AgentConfig(), script="train.py", run_command="python train.py",
                            coach=RuleCoach(), max_rounds=1, max_line_fixes=0, carried=carried)

    assert agent().run(task + "Raise the number.", "Raise the number.").status == "steps"
    assert carried.file == crashing and carried.reply == fenced(crashing)
    debug = "Attempt a001 failed. Fix the cause of this error: broken: on purpose"
    assert agent().run(task.replace("a000: ok", "a000: ok\n- a001: failed") + debug, debug).status == "final"
    first, second = backend.requests[0].messages, backend.requests[1].messages
    assert second[:2] == first and second[2].content == fenced(crashing)
    assert second[3].content.lstrip().startswith("## What to do now\n" + debug) and crashing not in second[3].content
    assert carried.messages == []  # the episode ended working: nothing is handed on
    (workspace.root / "train.py").write_text(crashing)  # as after a failed attempt, but no conversation wrote it
    agent().run(task + "Raise the number.", "Raise the number.")
    assert len(backend.requests[2].messages) == 2 and crashing.strip() in backend.requests[2].messages[1].content


def test_short_line_fix_calls_do_not_make_a_whole_file_call_look_short(workspace, tmp_path):
    """Latencies as on the real suite's monthly-nbeats: three line fixes of 2-6 s after whole-file replies of 55-97 s
    made the median of all calls 5.8 s, and a whole-file call started 66 s before the deadline took 112 s."""
    working = "open('out.txt', 'w').write('0.9')\n"
    agent, backend = agent_for(workspace, [fenced(working)], tmp_path, deadline=time.monotonic() + 60)
    llm = agent.llm
    llm.recent_latencies_s = [85.7, 5.8, 1.8, 1.8, 97.0]
    llm.latencies_by_purpose = {"experiment.rewrite": [54.7, 85.7, 97.0], "experiment.line_fix": [5.8, 1.8, 1.8],
                                "idea.plan": [20.0]}
    assert llm.expected_call_s() == 5.8
    assert llm.expected_call_s("experiment.rewrite") == 85.7 and llm.expected_call_s("experiment.line_fix") == 1.8
    assert llm.expected_call_s("experiment.") == 85.7, "the next episode's longest kind of call"
    assert llm.expected_call_s("experiment.edit") == 5.8, "none of that kind yet: all calls"
    assert agent.run("task").status == "wall_clock" and backend.requests == []
