"""The whole-file implementation strategy for small models (AIDE-style): instead of a tool-calling loop, the model
is shown the task, the plan and the current experiment script, and answers with the complete new script. The script
is written through the workspace (so read-only rules, undo history and per-step diffs apply as for any tool), run in
the sandbox, and a failing run is shown back to the model for a corrected whole file, a bounded number of times.

Why: a 1.5B coder model writes correct small scripts in one reply, but in a multi-step tool loop it repeats one
look or one failing edit until the step budget ends (seen in every `llm=local` run of the tool agent). A single
script file that the run command names is also what most research starter code is. Runs whose command names no
Python script in the workspace use the tool agent instead (`script_for_command` returns None).

The episode's trace has the same shape as the tool agent's: each written file is a `write_file` step and each trial
run an `execute` step, with token counts, in `env_log/trace.jsonl`.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.coach.base import Coach, NoCoach
from copilot.experiment.agent import (
    AgentConfig,
    BudgetExhausted,
    EpisodeResult,
    check_budgets,
    render_prompt,
    trace_step,
)
from copilot.experiment.analyst import FENCE, clean_code
from copilot.experiment.imported_names import imported_names, keep_imported_definitions, module_names, workspace_sources
from copilot.experiment.line_fix import error_excerpt, failing_window, import_lines, reply_lines, splice
from copilot.experiment.program import same_program
from copilot.llm import LLM, Message
from copilot.llm.base import ContextOverflowError
from copilot.rundir import JsonlWriter

log = logging.getLogger("copilot.experiment")

RETRY_TEMPERATURE = 0.8  # the same prompt at a low temperature gives the same reply: after a repeat, sample more


def script_for_command(command: str, root: Path) -> str | None:
    """The workspace-relative Python script that `command` runs (`python train.py --x`, `python3 -u src/run.py`), or
    None when the command runs no single script file of the workspace (a shell script, `python -m pkg`, a pipeline).
    """
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or Path(words[0]).name not in {"python", "python3"} or "&&" in words or ";" in command:
        return None
    for word in words[1:]:
        if word == "-m":
            return None
        if word.startswith("-"):
            continue
        path = (root / word).resolve()
        if word.endswith(".py") and path.is_file() and path.is_relative_to(root.resolve()):
            return path.relative_to(root.resolve()).as_posix()
        return None
    return None


def split_reply(reply: str) -> tuple[str | None, str]:
    """The longest fenced code block of a reply (None when there is none) and the reply's prose around it."""
    blocks = [block for block in FENCE.findall(reply) if block.strip()]
    if not blocks:
        return None, reply.strip()
    code = max(blocks, key=len)
    prose = FENCE.sub("", reply).strip()
    return clean_code(code), prose


EPISODE_SECTION = "\n## This episode\n"  # the last section of the task block: the instruction
VARYING_SECTIONS = ("\n## Earlier attempts\n", "\n## Hypothesis under test", EPISODE_SECTION)


def split_task_message(task_message: str) -> tuple[str, str]:
    """The task block (`prompts/task.j2`) cut before its first section that varies between episodes: `(stable,
    varying)`; `(task_message, "")` when it has none of them."""
    at = min((i for i in (task_message.find(m) for m in VARYING_SECTIONS) if i >= 0), default=len(task_message))
    return task_message[:at].rstrip("\n") + "\n", task_message[at:]


@dataclass
class CarriedConversation:
    """The whole-file conversation of the last episode whose final reply's file failed, handed to the next episode.

    The next episode that starts from that very file (the debug episode of the failed attempt) takes the conversation
    up: the failed reply, then the new instruction (which quotes the error). Rebuilt around the file instead, the
    debug episodes' first prompts of the real suite and the demos had 17k tokens evaluated again (14 prompts). It
    applies less often than that suggests: a failed episode usually ends with line fixes, which change the file (once
    in the suite's run at 382b643, twice in the demos')."""

    messages: list[Message] = field(default_factory=list)
    reply: str = ""
    file: str = ""

    def take_up(self, stable: str, current: str) -> tuple[list[Message], str]:
        """The conversation and its last reply when `current` is the file that reply wrote and the conversation opened
        with the task block's `stable` part; `([], "")` otherwise. Taken once: it is cleared either way."""
        messages, reply, file = self.messages, self.reply, self.file
        self.hand_on([], "", "")
        if len(messages) < 2 or file.strip() != current.strip() or not messages[1].content.startswith(stable):
            return [], ""
        return list(messages), reply

    def hand_on(self, messages: list[Message], reply: str, file: str) -> None:
        """Keep `messages` and the `reply` to them, whose file `file` is, for the next episode."""
        self.messages, self.reply, self.file = messages, reply, file


class RewriteAgent:
    """Implements an instruction by asking for the whole experiment script, running it, and repairing it on error.

    Shares `ExperimentAgent`'s interface (`run`, `render`, `toolbox`, `step_counter`) and budgets: every model reply
    counts as a step, and the run's token, cost and wall-clock limits end the episode as they do there.
    """

    purpose = "experiment.rewrite"  # of its model calls: how long the next one will take is judged by their kind

    def __init__(self, llm: LLM, toolbox: Any, config: AgentConfig, script: str, run_command: str,
                 trace: JsonlWriter | None = None, step_offset: int = 0, max_rounds: int = 3,
                 earlier_versions: list[str] | None = None, coach: Coach | None = None,
                 max_repeats: int = 1, max_line_fixes: int = 3, carried: CarriedConversation | None = None) -> None:
        self.llm = llm
        self.carried = carried  # shared by a run's episodes: a failed episode's conversation, for the next one
        # Replies repeating the current file that end the episode: asked again (at a higher temperature), the
        # embedded model wrote a new file after one in 1 of 10 rounds of the real suite's first run, 50 s each.
        self.max_repeats = max_repeats
        self.max_line_fixes = max_line_fixes  # line-fix replies after the whole-file replies gave up (line_fix.py)
        self.toolbox = toolbox
        self.config = config
        self.script = script
        self.run_command = run_command
        self.trace = trace
        self.step_counter = step_offset
        self.max_rounds = max_rounds
        self.earlier_versions = earlier_versions or []  # working versions of the script (the starter's)
        self.coach: Coach = coach or NoCoach()
        self._imported: dict[str, str] | None = None  # names other workspace files import from the script
        self._last: tuple[list[Message], str] = ([], "")  # the episode's last request and reply

    def render(self, template: str, **values: Any) -> str:
        """Render one of the agent's prompt templates."""
        return render_prompt(template, **values)

    def run(self, task_message: str, instruction: str = "") -> EpisodeResult:
        """One episode (`_episode`); when its last reply wrote a new file that failed (the file the workspace holds
        at its end), the conversation is handed on to the next episode (`CarriedConversation`)."""
        self._last = ([], "")
        path = self.toolbox.workspace.resolve(self.script)
        start = path.read_text(encoding="utf-8", errors="replace")
        result = self._episode(task_message, instruction)
        if self.carried is not None:
            file = path.read_text(encoding="utf-8", errors="replace")
            messages, reply = self._last
            code, _ = split_reply(reply)
            wrote_new = code is not None and code.strip() == file.strip() != start.strip()
            if result.status != "final" and messages and wrote_new:
                self.carried.hand_on(messages, reply, file)
            else:
                self.carried.hand_on([], "", "")
        return result

    def _episode(self, task_message: str, instruction: str) -> EpisodeResult:
        """One episode: up to `max_rounds` whole-file versions, ending at the first one whose run succeeds.

        `instruction` (already part of `task_message`) is restated after the file, where a small model reads it last:
        with it only at the top, Qwen2.5-Coder-1.5B copied the file back unchanged and said it had made the change.
        A round after a reply whose file failed as written (or came back unchanged) continues the conversation:
        that reply and the error follow it, so the prompt the model has read is reused (`_messages`).
        """
        workspace = self.toolbox.workspace
        current = workspace.resolve(self.script).read_text(encoding="utf-8", errors="replace")
        earlier = [current, *self.earlier_versions]
        self.toolbox.earlier_versions = earlier  # what the coach may quote back when a run fails
        error: str | None = None
        unchanged = ""  # "file": the last reply repeated the file; "comments": only its comments differed
        steps = written = 0
        summary = ""
        repairs: list[str] = []
        conversation: list[Message] = []  # the last request, when the file it produced is the current file
        last_reply = ""
        if self.carried is not None:
            conversation, last_reply = self.carried.take_up(split_task_message(task_message)[0], current)
            if conversation:
                log.info("taking up the last episode's conversation: its last reply wrote the current %s", self.script)
        repeats = 0
        try:
            for _ in range(self.max_rounds):
                self._check_budgets(steps)
                steps += 1
                self.step_counter += 1
                values = dict(script=self.script, error=error, run=self.run_command, unchanged=unchanged,
                              instruction=instruction)
                messages = self._messages(task_message, values, current, conversation, last_reply)
                completion = self._complete(messages, task_message, values, current,
                                            RETRY_TEMPERATURE if unchanged else None)
                conversation, last_reply = messages, completion.text
                self._last = (messages, completion.text)
                code, summary = split_reply(completion.text)
                if completion.finish_reason == "repetition":  # copilot/llm/repetition.py cut a looping reply
                    error = ("Your reply repeated the same lines over and over and was cut off. Write the file again, "
                             "short, with each setting written once.")
                    self._record(steps, None, {"ok": False, "text": error}, completion)
                    conversation = []
                    continue
                if completion.finish_reason == "length" and completion.text.count("```") % 2:
                    # The file was cut inside its code block: run as written it fails on its last line, and a
                    # conversation taken up after it had the same cut reply given back (tabular-digits at 382b643:
                    # `test["pixel_0_0"], test["pixel_0_1"], ...` to 2,048 tokens, twice, 267 s).
                    error = ("Your reply reached its length limit inside the code block and was cut off. Write the "
                             "file again, shorter: build repeated items (column names, layers, settings) with a loop "
                             "or a comprehension instead of writing each one out.")
                    self._record(steps, None, {"ok": False, "text": error}, completion)
                    conversation, self._last = [], ([], "")
                    continue
                if code is None:
                    error = ("Your reply held no ```python code block. Reply with the complete file in one "
                             "```python block.")
                    self._record(steps, None, {"ok": False, "text": error}, completion)
                    conversation = []
                    continue
                if code.strip() == current.strip() or same_program(current, code):
                    # the error, if any, still stands: the fix round asks for it again
                    unchanged = "file" if code.strip() == current.strip() else "comments"
                    what = ("the current file unchanged" if unchanged == "file"
                            else "the current code with other comments or unused additions")
                    self._record(steps, {"tool": "write_file", "arguments": {"path": self.script, "content": code}},
                                 {"ok": False, "text": f"the reply repeats {what}"}, completion)
                    repeats += 1
                    if repeats >= self.max_repeats:
                        failure = error or instruction  # a debug or repair episode's instruction quotes the error
                        if self.max_line_fixes and failing_window(current, failure, self.script) is not None:
                            return self._fix_lines(current, failure, earlier, steps)
                        log.info("episode ended: the reply repeated %s (%d time(s))", what, repeats)
                        return EpisodeResult(status="steps", steps=steps, summary=_one_paragraph(summary))
                    if unchanged == "comments":
                        conversation = []  # the reply's file is not the current one
                    continue
                unchanged = ""
                code, kept = self._keep_imported(current, code)
                if kept:
                    repairs.append(kept)
                observation = self._act("write_file", {"path": self.script, "content": code})
                self._record(steps, {"tool": "write_file", "arguments": {"path": self.script, "content": code}},
                             observation.model_dump(), completion)
                if not observation.ok:
                    error = observation.text
                    conversation = []
                    continue
                current = code
                written += 1
                self._check_budgets(steps)
                trial = self._run(steps)
                if not trial.ok:
                    current, trial, restored = self._repair(current, trial, earlier, steps)
                    repairs += restored
                    if restored:
                        conversation = []  # the file now differs from the reply: it is shown again
                if trial.ok:
                    note = f" (copilot {'; '.join(repairs)})" if repairs else ""
                    return EpisodeResult(status="final", steps=steps, summary=_one_paragraph(summary + note))
                error = trial.text
            log.info("episode ended after %d replies: %d new version(s) of %s, none ran successfully%s", steps,
                     written, self.script, "; the last reply repeated the file" if unchanged else "")
            return EpisodeResult(status="steps", steps=steps, summary=_one_paragraph(summary))
        except BudgetExhausted as exhausted:
            log.info("episode ended: %s budget exhausted after %d steps", exhausted.kind, steps)
            return EpisodeResult(status=exhausted.kind, steps=steps, summary=_one_paragraph(summary))

    def _keep_imported(self, current: str, code: str) -> tuple[str, str]:
        """`code` with the definitions of `current` put back that it dropped and another workspace file imports
        (`imported_names.py`), and a note saying which, or "" when none was."""
        if self._imported is None:
            self._imported = imported_names(module_names(self.script),
                                            workspace_sources(self.toolbox.workspace.root, self.script))
        merged, kept = keep_imported_definitions(current, code, self._imported)
        if not kept:
            return code, ""
        files = sorted({self._imported[name] for name in kept})
        note = f"put back {', '.join(kept)}, which {', '.join(files)} import{'s' if len(files) == 1 else ''}"
        log.warning("%s: the reply dropped definitions other files import: %s", self.script, note)
        return merged, note

    def _fix_lines(self, current: str, output: str, earlier: list[str], steps: int) -> EpisodeResult:
        """Up to `max_line_fixes` replies that each correct the lines around the failing one (`line_fix.py`), each
        new version run at once; ends the episode, `final` at the first version that runs. A reply that cannot be
        placed or changes nothing is asked again at a higher temperature."""
        summary, repairs, temperature, retry = "", [], None, ""
        log.info("the whole-file reply repeated the file: asking for the failing lines only")
        for _ in range(self.max_line_fixes):
            window = failing_window(current, output, self.script)
            if window is None:
                break
            self._check_budgets(steps, "experiment.line_fix")
            steps += 1
            self.step_counter += 1
            ask = self.render("line_fix.j2", run=self.run_command, script=self.script, error=error_excerpt(output),
                              imports="\n".join(import_lines(current)), start=window.start, end=window.end,
                              failing=window.failing, window="\n".join(window.lines), retry=retry)
            messages = [Message(role="system", content=self.render("line_fix_system.j2")),
                        Message(role="user", content=ask)]
            completion = self.llm.complete(messages, max_tokens=self.config.reply_max_tokens, temperature=temperature,
                                           purpose="experiment.line_fix")
            code, (_, note) = reply_lines(completion.text), split_reply(completion.text)
            fixed = splice(current, window, code) if code is not None else None
            if fixed is None or fixed.strip() == current.strip() or same_program(current, fixed):
                problem = ("the reply held no ```python block" if code is None else "the reply's lines could not be "
                           "placed in the file (or do not parse)" if fixed is None else "the reply changed nothing")
                self._record(steps, None, {"ok": False, "text": f"line fix of lines {window.start}-{window.end}: "
                                                                f"{problem}"}, completion)
                # The same request at the same temperature gives the same sample (the seed is fixed): say what
                # was wrong, which also changes the request.
                retry = "unchanged" if code is not None and fixed is not None else "unplaced"
                temperature = RETRY_TEMPERATURE
                continue
            temperature, retry = None, ""
            action = {"tool": "write_file", "arguments": {"path": self.script, "content": fixed},
                      "line_fix": f"lines {window.start}-{window.end}"}
            observation = self._act("write_file", {"path": self.script, "content": fixed})
            self._record(steps, action, observation.model_dump(), completion)
            if not observation.ok:
                break
            current, summary = fixed, note
            trial = self._run(steps)
            if not trial.ok:
                current, trial, restored = self._repair(current, trial, earlier, steps)
                repairs += restored
            if trial.ok:
                done = f" (copilot {'; '.join(repairs)})" if repairs else ""
                return EpisodeResult(status="final", steps=steps, summary=_one_paragraph(summary + done))
            output = trial.text
        log.info("episode ended: no line fix made %s run", self.script)
        return EpisodeResult(status="steps", steps=steps, summary=_one_paragraph(summary))

    def _run(self, steps: int) -> Any:
        trial = self._act("execute", {"command": self.run_command})
        self._record(steps, {"tool": "execute", "arguments": {"command": self.run_command}}, trial.model_dump(), None)
        return trial

    def _repair(self, code: str, trial: Any, earlier: list[str], steps: int,
                limit: int = 4) -> tuple[str, Any, list[str]]:
        """Apply the coach's repairs of the failed script one at a time, running it after each; at most `limit`.
        Each repair is written through the workspace as its own step, marked `repair` in the trace."""
        done: list[str] = []
        for _ in range(limit):
            repair = self.coach.repair(code, trial.text, self.script, earlier)
            if repair is None:
                break
            observation = self._act("write_file", {"path": self.script, "content": repair.code})
            self._record(steps, {"tool": "write_file", "arguments": {"path": self.script, "content": repair.code},
                                 "repair": repair.description}, observation.model_dump(), None)
            if not observation.ok:
                break
            log.warning("%s: %s", self.script, repair.description)
            code = repair.code
            done.append(repair.description)
            trial = self._run(steps)
            if trial.ok:
                break
        return code, trial, done

    def _fresh(self, task_message: str, values: dict[str, Any], current: str) -> list[Message]:
        """The opening request: the task block's stable part (task, plan, rules, workspace), the current file, then
        the parts that vary from episode to episode (earlier attempts, this episode's instruction), the last error
        and what to do now. Episodes that start from the same file then share the file in their cached prefix: with
        the file after the varying parts, 40 % of the real suite's whole-file prompt tokens were evaluated again."""
        stable, varying = split_task_message(task_message)
        if values.get("instruction") and EPISODE_SECTION in varying:
            # "What to do now" below restates the instruction: right after the varying sections, the task block's
            # own copy would only double the tokens evaluated (11k of the suite's and demos' uncached 147k).
            varying = varying[:varying.index(EPISODE_SECTION)].rstrip("\n") + "\n"
        code = self.render("rewrite_file.j2", script=self.script, code=current)
        ask = self.render("rewrite.j2", code=None, shown=True, **values)
        return [Message(role="system", content=self.render("rewrite_system.j2")),
                Message(role="user", content=f"{stable}\n{code}{varying}\n{ask}")]

    def _messages(self, task_message: str, values: dict[str, Any], current: str, conversation: list[Message],
                  last_reply: str) -> list[Message]:
        """The next request. After a reply whose file is the current one (it failed as written, or came back
        unchanged), the conversation goes on: that reply, then the error and what to do now, without the file again;
        a local model then evaluates only the new turn (the rest is its KV cache). When that would not fit the
        context window, only the opening and the last turn are kept; when even that does not fit, or the file is not
        the last reply's, the opening is rebuilt around the current file."""
        if not conversation:
            return self._fresh(task_message, values, current)
        turn = [Message(role="assistant", content=last_reply),
                Message(role="user", content=self.render("rewrite.j2", code=None, **values))]
        for opening in (conversation, conversation[:2]):
            messages = [*opening, *turn]
            if self._fits(messages):
                return messages
        return self._fresh(task_message, values, current)

    def _reply_budget(self) -> int:
        return max(512, self.config.reply_max_tokens * 2)

    def _fits(self, messages: list[Message]) -> bool:
        """Whether `messages` and a whole reply fit the context window (a few tokens per message for the template)."""
        tokens = sum(self.llm.count_tokens(m.content) + 8 for m in messages)
        return tokens + self._reply_budget() < self.config.context_tokens

    def _complete(self, messages: list[Message], task_message: str, values: dict[str, Any], current: str,
                  temperature: float | None = None) -> Any:
        try:
            return self.llm.complete(messages, max_tokens=self._reply_budget(), temperature=temperature,
                                     purpose="experiment.rewrite")
        except ContextOverflowError:
            # The task block (findings, history) is what grows; the file and the error are what the reply needs.
            cut = f"{task_message[:4000]}\n[... task text cut to fit the context window ...]"
            return self.llm.complete(self._fresh(cut, values, current), max_tokens=self._reply_budget(),
                                     temperature=temperature, purpose="experiment.rewrite")

    def _act(self, tool: str, arguments: dict[str, Any]) -> Any:
        workspace = self.toolbox.workspace
        workspace.begin_step(self.step_counter)
        try:
            observation = self.toolbox.call(tool, arguments)
        finally:
            change = workspace.end_step(self.step_counter)
        if change:
            observation.text += f"\n[workspace changes: {change}]"
        return observation

    def _check_budgets(self, steps: int, purpose: str | None = None) -> None:
        check_budgets(self.config, self.llm, steps, purpose or self.purpose)

    def _record(self, step: int, action: dict[str, Any] | None, observation: dict[str, Any], completion: Any) -> None:
        trace_step(self.trace, self.step_counter, step, action, observation, completion, strategy="rewrite")


def _one_paragraph(text: str, limit: int = 600) -> str:
    return " ".join(text.split())[:limit]
