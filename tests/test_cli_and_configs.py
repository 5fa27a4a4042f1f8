"""The command line and the configuration: every option of every group composes and instantiates, and user errors
are one line on stderr with exit code 2 (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from copilot.errors import UserError

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "conf"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def cli(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.run([sys.executable, "-m", "copilot", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**clean, **(env or {})})


@pytest.mark.parametrize("group", ["llm", "feedback", "sandbox", "retrieval", "search", "agent", "coach", "tracking"])
def test_every_option_composes(group):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for option in options(group):
            cfg = compose("config", overrides=["task=tabular-digits", f"{group}={option}"])
            assert cfg[group] is not None


def test_sandbox_feedback_and_retrieval_options_instantiate(monkeypatch, tmp_path):
    from copilot.retrieval import build_retrievers

    answers = tmp_path / "answers.yaml"
    answers.write_text("ideas: [{action: accept}]\n")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for option in options("sandbox"):
            assert hasattr(instantiate(compose("config", overrides=["task=x", f"sandbox={option}"]).sandbox), "run")
        for option in set(options("feedback")) - {"interactive", "confirm"}:
            extra = [f"feedback.path={answers}"] if option == "scripted" else []
            overrides = ["task=x", f"feedback={option}", *extra]
            assert hasattr(instantiate(compose("config", overrides=overrides).feedback), "on_ideas")
        for option in options("retrieval"):
            cfg = compose("config", overrides=["task=x", f"retrieval={option}"])
            assert build_retrievers(cfg.retrieval, folder=None, references=[])


def test_llm_presets_instantiate_or_name_what_is_missing(monkeypatch, tmp_path):
    from copilot.llm import build_llm

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    script = tmp_path / "replay.jsonl"
    script.write_text('{"reply": "x"}\n')
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for option in options("llm"):
            extra = [f"llm.backend.path={script}"] if option == "replay" else []
            cfg = compose("config", overrides=["task=x", f"llm={option}", *extra])
            try:
                llm = build_llm(cfg.llm)
            except UserError as error:  # a missing key or an optional extra: the message says which
                assert option in ("claude", "gpt4", "llama"), (option, error)
                assert any(word in str(error) for word in ("API_KEY", "pip install")), error
                continue
            assert llm.model


def test_a_missing_task_is_one_line_with_the_choices():
    result = cli()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("copilot: error: no task given: add task=<name> (available: ")
    assert "tabular-digits" in result.stderr


def test_unknown_task_lists_the_available_ones():
    result = cli("task=nope", "llm=tiny")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("copilot: error: unknown task 'nope'")
    assert "tabular-digits" in result.stderr and "Traceback" not in result.stderr


def test_unknown_config_option_lists_the_choices():
    result = cli("task=tabular-digits", "llm=nope")
    assert result.returncode != 0 and "Available options" in result.stderr and "local" in result.stderr


def test_claude_without_a_key_is_one_line_naming_the_variable(tmp_path):
    result = cli("task=tabular-digits", "llm=claude", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == "copilot: error: llm=claude: set the environment variable ANTHROPIC_API_KEY (or put it in .env)"
    assert "Traceback" not in result.stderr


def test_a_key_in_dotenv_is_used(tmp_path):
    (tmp_path / ".env").write_text("ANTHROPIC_API_KEY=sk-from-dotenv\n")
    paths = [f"paths.problems={REPO / 'problems'}", f"paths.workspaces={REPO / 'workspaces'}"]
    result = cli("task=tabular-digits", *paths,
                 "llm=claude", "llm.backend.base_url=http://127.0.0.1:9", "llm.max_retries=0", "stages=[idea]",
                 "retrieval=offline", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    # The key was found (no missing-key error); the call then fails to connect to the closed port.
    assert "ANTHROPIC_API_KEY" not in result.stderr and "TransientLLMError" in result.stderr
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_invalid_stage_and_resume_of_a_non_run(tmp_path):
    result = cli("task=tabular-digits", "llm=tiny", "stages=[idea,deploy]", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode == 2 and "unknown stage 'deploy'" in result.stderr
    result = cli(f"resume={tmp_path}")
    assert result.returncode == 2 and "not a run directory" in result.stderr


def test_every_option_passes_the_schema_and_its_parts_build():
    """Every option of every group passes `validate_config` (the schema checked before any side effect), and the
    search policies, coaches and agents it names can be built."""
    from copilot.config import validate_config
    from copilot.experiment.agents import agent_options

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for group in ("llm", "feedback", "sandbox", "retrieval", "search", "agent", "coach", "tracking"):
            for option in options(group):
                extra = ["llm.backend.path=x.jsonl"] if (group, option) == ("llm", "replay") else []
                assert validate_config(compose("config", overrides=["task=x", f"{group}={option}", *extra]))
            if group == "llm":
                with pytest.raises(UserError, match=r"llm\.backend\.path: required"):
                    validate_config(compose("config", overrides=["task=x", "llm=replay"]))
        for option in options("search"):
            assert hasattr(instantiate(compose("config", overrides=["task=x", f"search={option}"]).search),
                           "next_step")
        for option in options("coach"):
            assert hasattr(instantiate(compose("config", overrides=["task=x", f"coach={option}"]).coach), "run_failed")
    for option in set(options("agent")) - {"auto"}:
        assert callable(instantiate({k: v for k, v in agent_options(option).items() if k != "name"}))


@pytest.mark.parametrize(("override", "message"), [
    ("idea.num_hypotheses=0", "idea.num_hypotheses: Input should be greater than or equal to 1"),
    ("+execution.max_debug=3", "execution.max_debug: unknown key"),
    ("+search.max_debug_roundz=3", "search.max_debug_roundz: unknown option of copilot.execution.policies.linear"),
    ("search._target_=copilot.execution.policies.nowhere.Search", "search._target_=copilot.execution.policies."
                                                                  "nowhere.Search: cannot be imported"),
    ("+banana=1", "banana: unknown configuration key"),
])
def test_a_bad_setting_is_refused_before_anything_runs(override, message):
    from copilot.config import validate_config

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=["task=x", override])
    with pytest.raises(UserError) as error:
        validate_config(cfg)
    assert str(error.value).startswith(message)


def test_an_agent_that_needs_one_script_refuses_a_command_that_runs_none(tmp_path):
    problems = tmp_path / "problems" / "shell-task"
    problems.mkdir(parents=True)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "run.sh").write_text("echo hi\n")
    (problems / "task.yaml").write_text(
        "title: t\nworkspace: ../../ws\nmetric: {name: accuracy, direction: maximize}\nrun: bash run.sh\n"
        "evaluate: python evaluate.py\n")
    result = cli("task=shell-task", f"paths.problems={tmp_path / 'problems'}", "llm=tiny", "agent=rewrite",
                 f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "copilot: error: agent=rewrite needs a run command that runs one Python script of the workspace; "
        "`bash run.sh` does not: use agent=tools")
