"""The search/replace implementation strategy for long experiment scripts: the model sees the task and the whole
current script, and answers with Aider-style search/replace blocks instead of the whole file.

Why: a whole-file reply costs as many tokens as the file has. On 2 CPU cores Qwen2.5-Coder-1.5B decodes a few tokens
per second, so rewriting a 140-line script to change 20 lines took about 190 s per reply (issue 16); a block that
copies the lines to change and gives their replacement is a fraction of that. Short scripts keep the whole-file
strategy (`copilot/experiment/rewrite.py`); `choose_strategy` draws the line by file size.

A reply's blocks are placed with tolerant matching (`copilot/experiment/edit_blocks.py`: exact, then ignoring
trailing whitespace, then indentation, then fuzzy). Before anything runs: a block that matches nowhere or in several
places is reported back (which block, the closest lines or every place it matches), and a Python file that would not
parse is shown back with its syntax error, unwritten. The blocks that did match are written (a reply that fixes
only the failed block then completes it; a block sent again after it was applied is recognised and skipped), but the
experiment runs only once a reply's blocks all apply. Every write goes through the workspace (read-only rules, undo
history and per-step diffs apply as for any write): a `write_file` step in `env_log/trace.jsonl` whose `edits` say
how each block matched; a reply that changed nothing is an `edit_file` step with `ok: false`; each trial run an
`execute` step. A failing run is shown back with its error and the edited lines, for corrected blocks, as in the
whole-file strategy: a reply repeating the last one is answered with the same error at a higher temperature, and a
reply cut for looping is not applied.

The prompt is the opening (system prompt, then the task block, the file and the instruction), which stays the same
through the episode so that llama.cpp serves it from its KV cache, followed by the last reply and its feedback only.
Earlier failed rounds are dropped: with them in the conversation the embedded model copied its own failing block
into every later reply (7 copies of one ambiguous block in our first trial). The opening is rebuilt around the
current file only when the edits since it no longer fit a short excerpt, or the next round would not fit the context.
"""

from __future__ import annotations

import ast
import difflib
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from copilot.coach.base import Coach
from copilot.experiment.agent import AgentConfig, BudgetExhausted, EpisodeResult, trace_step
from copilot.experiment.edit_blocks import (
    FENCE_LINE,
    PATH_LINE,
    REPLACE_MARK,
    SEARCH_MARK,
    Applied,
    EditBlock,
    Failed,
    apply_block,
    parse_blocks,
)
from copilot.experiment.program import same_program
from copilot.experiment.rewrite import RETRY_TEMPERATURE, RewriteAgent, _one_paragraph, split_reply
from copilot.experiment.workspace import WorkspaceError
from copilot.llm import LLM, Message
from copilot.llm.base import ContextOverflowError
from copilot.rundir import JsonlWriter

log = logging.getLogger("copilot.experiment")

EDIT_FROM_LINES = 200  # see choose_strategy
EXCERPT_CONTEXT = 3  # lines shown around each edited region and each line a traceback names
EXCERPT_MAX_LINES = 60  # beyond this the opening is rebuilt around the current file instead


def choose_strategy(script_lines: int, threshold: int = EDIT_FROM_LINES) -> Literal["rewrite", "edit"]:
    """The implementation strategy for an experiment script of `script_lines` lines: `edit` (search/replace blocks)
    from `threshold` lines on, `rewrite` (the whole file per reply) below it.

    Why 200: a whole-file reply costs about 10 tokens a line, so a file of up to about 200 lines fits the 2,048 tokens a
    reply may have, and a 500-line one does not (5,150 tokens, and with the prompt more than the 8,192-token
    context). The line was at 100 after `benchmarks/bench_edit_formats.py` (both strategies made a small change in
    48- and 136-line scripts written here, blocks at 70-100 tokens a reply). On the real suite's first run the
    embedded model's edit blocks for files of 165 and 170 lines (ml-dev-bench's MCTS with TODO stubs, scikit-learn's
    gradient-boosting example) copied the file into SEARCH parts until the reply was cut at its token limit in 9 of
    13 replies, and no edit of those runs ran; a whole file of that length is one reply of about 1,500 tokens.
    """
    return "edit" if script_lines >= threshold else "rewrite"


def numbered(text: str, first: int = 1, last: int | None = None) -> str:
    """Lines `first` to `last` (1-based, inclusive) of `text`, each prefixed with its number as `   12| `."""
    lines = text.splitlines()
    last = len(lines) if last is None else min(last, len(lines))
    return "\n".join(f"{n:>5}| {lines[n - 1]}" for n in range(max(1, first), last + 1))


class _Refused(Exception):
    """A reply that ran nothing: `case` and `values` make the feedback the model reads (edit_feedback.j2);
    `action` is its trace step's action, and `recorded` says the step is in the trace already."""

    def __init__(self, case: str, action: dict[str, Any] | None = None, recorded: bool = False,
                 **values: Any) -> None:
        super().__init__(case)
        self.case = case
        self.action = action
        self.recorded = recorded
        self.values = values


class EditAgent(RewriteAgent):
    """Implements an instruction by asking for search/replace blocks, applying them, running the script, and
    repairing it on error; see the module docstring.

    Shares `RewriteAgent`'s constructor, budgets, trial runs and coach repairs (it is one, with another reply
    format): every model reply counts as a step, at most `max_rounds` per episode. `line_numbers` shows the file
    with numbered lines (a block that copies the numbers is read without them); off by default: in the benchmark the
    embedded model made its edits as well without them, the numbers add about 60% to the file's tokens, and a
    numbered 500-line script no longer fits an 8,192-token context.
    """

    purpose = "experiment.edit"

    def __init__(self, llm: LLM, toolbox: Any, config: AgentConfig, script: str, run_command: str,
                 trace: JsonlWriter | None = None, step_offset: int = 0, max_rounds: int = 4,
                 earlier_versions: list[str] | None = None, coach: Coach | None = None,
                 line_numbers: bool = False) -> None:
        super().__init__(llm, toolbox, config, script, run_command, trace=trace, step_offset=step_offset,
                         max_rounds=max_rounds, earlier_versions=earlier_versions, coach=coach)
        self.line_numbers = line_numbers
        self._task = self._instruction = ""
        self._opening: list[Message] = []
        self._turn: list[Message] = []  # the last reply and its feedback
        self._shown = ""  # the script as the opening shows it
        self._opening_tokens = 0
        self.current = ""  # the script as it is now
        self.earlier: list[str] = []  # working versions, for the coach's repairs
        self.error: str | None = None  # the last failing run's output, restated until a run succeeds
        self.last_key: list[tuple[str | None, str, str]] | None = None  # the last reply's blocks
        self.unchanged = False  # the last reply changed nothing: ask at a higher temperature
        self.last_problems: str | None = None  # why the last reply's blocks did not apply, restated on a repeat
        self.repairs: list[str] = []

    def run(self, task_message: str, instruction: str = "") -> EpisodeResult:
        """One episode: up to `max_rounds` replies, ending at the first edited version whose run succeeds."""
        self._task, self._instruction = task_message, instruction
        self.current = self._read(self.script)
        self.earlier = [self.current, *self.earlier_versions]
        self.toolbox.earlier_versions = self.earlier  # what the coach may quote back when a run fails
        self._open(self.current)
        self.error, self.last_key, self.unchanged, self.repairs, self.last_problems = None, None, False, [], None
        steps = 0
        summary = ""
        try:
            for _ in range(self.max_rounds):
                self._check_budgets(steps)
                steps += 1
                self.step_counter += 1
                completion = self._complete_turn(RETRY_TEMPERATURE if self.unchanged else None)
                if completion is None:
                    return EpisodeResult(status="context", steps=steps, summary=_one_paragraph(summary))
                summary = _prose(completion.text) or summary
                try:
                    feedback = self._round(completion, steps)
                except _Refused as refused:
                    feedback = self._feedback(refused.case, **refused.values)
                    if not refused.recorded:
                        self._record(steps, refused.action, {"ok": False, "text": feedback}, completion)
                if feedback is None:
                    note = f" (copilot {'; '.join(self.repairs)})" if self.repairs else ""
                    return EpisodeResult(status="final", steps=steps, summary=_one_paragraph(summary + note))
                self._next_turn(completion.text, feedback)
            log.info("episode ended after %d replies; no edited version of %s ran successfully", steps, self.script)
            return EpisodeResult(status="steps", steps=steps, summary=_one_paragraph(summary))
        except BudgetExhausted as exhausted:
            log.info("episode ended: %s budget exhausted after %d steps", exhausted.kind, steps)
            return EpisodeResult(status=exhausted.kind, steps=steps, summary=_one_paragraph(summary))

    def _round(self, completion: Any, steps: int) -> str | None:
        """Apply one reply and run the script when all its blocks applied: the feedback for the next round, None
        when the run succeeded, or `_Refused` when nothing was written."""
        if completion.finish_reason == "repetition":  # copilot/llm/repetition.py cut a looping reply
            raise _Refused("looped")
        blocks, problems = parse_blocks(completion.text)
        if completion.finish_reason == "length" and (blocks or problems):
            # A reply of blocks cut at the token limit copied far more than the change (on the real suite's
            # diabetes-gbr, eight blocks of unchanged code; the four that applied dropped the model's fit), and
            # asked for the missing blocks it sent all of them again, cut again: nothing of it is applied.
            raise _Refused("cut", tokens=completion.usage.completion_tokens, blocks=len(blocks) + len(problems))
        whole = None if blocks or problems else self._whole_file(completion)
        if not blocks and not problems and whole is None:
            raise _Refused("no_blocks")
        action = self._blocks_action(blocks)
        key = [(b.path, b.search, b.replace) for b in blocks]
        self.unchanged = bool(blocks) and key == self.last_key
        self.last_key = key
        if self.unchanged:
            raise _Refused("repeated", action=action, problems=self.last_problems)
        self._refuse_protected(blocks, steps, completion)
        texts, applied, failed = ({self.script: whole}, [], []) if whole is not None else self._apply(blocks)
        failed += problems
        edited = {path: text for path, text in texts.items() if text != self._existing(path)}
        # A reply whose other blocks failed may be adding the first half of a change (an import used later).
        changed = edited if failed else {path: text for path, text in edited.items()
                                         if not self._only_comments(path, text)}
        if not changed and failed:
            self.last_problems = "\n".join(failed)
            raise _Refused("not_applied", problems=self.last_problems, action=action)
        if not changed:
            self.unchanged = True
            raise _Refused("comments_only" if edited else "no_change", action=action, problems=self.last_problems)
        problem = self._check(changed)
        if problem is not None:
            self.last_problems = "\n".join([*failed, problem])
            raise _Refused("not_applied", problems=self.last_problems, action=action)
        self._write(changed, applied, steps, completion, whole is not None)
        self.current = changed.get(self.script, self.current)
        self.last_problems = "\n".join(failed) or None
        if failed:
            return self._feedback("partly_applied", problems=self.last_problems, applied=[a.index for a in applied],
                                  excerpt=self._excerpt(""))
        self._check_budgets(steps)
        trial = self._run(steps)
        restored: list[str] = []
        if not trial.ok:
            self.current, trial, restored = self._repair(self.current, trial, self.earlier, steps)
            self.repairs += restored
        if trial.ok:
            return None
        self.error = trial.text
        return self._feedback("run_failed", excerpt=self._excerpt(self.error), repaired=restored,
                              run=self.run_command)

    # -- the conversation ----------------------------------------------------------------------------------------
    def _common(self) -> dict[str, Any]:
        """Template values every prompt of the episode shares."""
        return {"script": self.script, "instruction": self._instruction, "line_numbers": self.line_numbers}

    def _feedback(self, case: str, **values: Any) -> str:
        """The feedback on a reply (edit_feedback.j2), with the last failing run's output as `error`."""
        return self.render("edit_feedback.j2", **{**self._common(), "error": self.error, "case": case, **values})

    def _open(self, current: str, feedback: str | None = None, task: str | None = None) -> None:
        """The opening: system prompt and task block with `current` as the file shown (and the last round's
        feedback, when rebuilt mid-episode)."""
        view = numbered(current) if self.line_numbers else current.rstrip()
        ask = self.render("edit.j2", code=view, lines=len(current.splitlines()), feedback=feedback,
                          **self._common())
        # A worked example as an earlier exchange: with the format described by placeholders, the embedded model
        # copied the placeholder lines as its blocks. Fixed text, so it stays in the cached prefix.
        self._opening = [Message(role="system", content=self.render("edit_system.j2")),
                         Message(role="user", content=self.render("edit_example.j2", **self._common())),
                         Message(role="assistant", content=self.render("edit_example_reply.j2")),
                         Message(role="user", content=f"{task if task is not None else self._task}\n{ask}")]
        self._turn = []
        self._shown = current
        self._opening_tokens = 0

    def _next_turn(self, reply: str, feedback: str) -> None:
        """Keep the last reply and its feedback after the opening, or rebuild the opening around the current file
        when the edits since it do not fit an excerpt or the next round would not fit the context window."""
        excerpt_lines = len(self._excerpt("").splitlines())
        tokens = self._opening_tokens + self.llm.count_tokens(reply) + self.llm.count_tokens(feedback)
        if excerpt_lines > EXCERPT_MAX_LINES or tokens + self.config.reply_max_tokens >= self.config.context_tokens:
            log.info("edit prompt rebuilt around the current %s", self.script)
            self._open(self.current, feedback=feedback)
        else:
            self._turn = [Message(role="assistant", content=reply or "(empty reply)"),
                          Message(role="user", content=feedback)]

    def _complete_turn(self, temperature: float | None) -> Any:
        """The model's reply to the opening and the last turn; None when even a cut task block does not fit."""
        try:
            completion = self.llm.complete([*self._opening, *self._turn], max_tokens=self.config.reply_max_tokens,
                                           temperature=temperature, purpose="experiment.edit")
        except ContextOverflowError:
            # The task block (findings, history) is what grows; the file and the feedback are what the reply needs.
            feedback = self._turn[-1].content if self._turn else None
            self._open(self.current, feedback=feedback, task=f"{self._task[:4000]}\n[... task text cut to fit the "
                       "context window ...]")
            try:
                completion = self.llm.complete(self._opening, max_tokens=self.config.reply_max_tokens,
                                               temperature=temperature, purpose="experiment.edit")
            except ContextOverflowError:
                log.warning("%s and the task do not fit the context window, even with the task text cut",
                            self.script)
                return None
        if not self._turn:
            self._opening_tokens = completion.usage.prompt_tokens
        return completion

    # -- applying a reply ----------------------------------------------------------------------------------------
    def _read(self, rel: str) -> str:
        return self.toolbox.workspace.resolve(rel).read_text(encoding="utf-8", errors="replace")

    def _only_comments(self, rel: str, text: str) -> bool:
        """Whether `text` is the Python file `rel` as it is, with other comments or unused additions
        (copilot/experiment/program.py)."""
        existing = self._existing(rel)
        return rel.endswith(".py") and existing is not None and same_program(existing, text)

    def _existing(self, rel: str) -> str | None:
        """The text of `rel`, or None when there is no such file in the workspace (a new or hidden file)."""
        return self._read(rel) if self.toolbox.workspace.resolve(rel).is_file() else None

    def _target(self, block: EditBlock) -> str:
        """The workspace path a block edits: the script when it names none, or names a missing file by the script's
        name (`path/to/train.py`); `WorkspaceError` for a path outside the workspace."""
        if block.path is None:
            return self.script
        workspace = self.toolbox.workspace
        path = workspace.resolve(block.path)
        script = workspace.resolve(self.script)
        if path == script or (not path.exists() and Path(block.path).name == script.name):
            return self.script
        return str(workspace.relative(path))

    def _protected(self, path: str) -> bool:
        workspace = self.toolbox.workspace
        return bool(workspace.is_read_only(path) or path in workspace.hidden)

    def _refuse_protected(self, blocks: list[EditBlock], steps: int, completion: Any) -> None:
        """A block for a read-only or held-out file, or outside the workspace: the workspace refuses the write
        (its own message), and nothing of the reply is applied."""
        for block in blocks:
            try:
                path = self._target(block)
            except WorkspaceError as error:
                raise _Refused("not_applied", problems=f"block {block.index}: {error}",
                               action=self._blocks_action(blocks)) from None
            if self._protected(path):
                arguments = {"path": path, "content": block.replace}
                observation = self._act("write_file", arguments)
                assert not observation.ok, f"the workspace wrote {path}, a protected file"
                self._record(steps, {"tool": "write_file", "arguments": arguments}, observation.model_dump(),
                             completion)
                raise _Refused("not_applied", problems=f"block {block.index}: {observation.text}", recorded=True)

    def _apply(self, blocks: list[EditBlock]) -> tuple[dict[str, str], list[Applied], list[str]]:
        """The new text of each file the blocks edit, the blocks placed, and a message per block that was not.
        A block that repeats SEARCH as REPLACE is dropped (small models add such blocks); a block sent k times
        whose SEARCH matches exactly k places replaces each."""
        texts: dict[str, str] = {}
        applied: list[Applied] = []
        failed: list[str] = []
        copies = Counter((b.path, b.search, b.replace) for b in blocks)
        seen: set[tuple[str | None, str, str]] = set()
        for block in blocks:
            key = (block.path, block.search, block.replace)
            if block.changes_nothing or key in seen:
                continue
            seen.add(key)
            path = self._target(block)
            original = self._existing(path)
            if original is None and block.search.strip():
                failed.append(f"block {block.index} edits {path}, which does not exist; the experiment script is "
                              f"{self.script} (a new file needs an empty SEARCH part)")
                continue
            text = texts.setdefault(path, original or "")
            if not block.search.strip() and not text:
                texts[path] = block.replace
                applied.append(Applied(index=block.index, path=path, kind="new_file", first_line=1, last_line=0,
                                       new_lines=len(block.replace.splitlines())))
                continue
            texts[path], outcome = apply_block(text, block, path, copies=copies[key])
            if isinstance(outcome, Applied):
                applied.append(outcome)
                continue
            # Line numbers in the report are those of the file the model sees, not of the text with earlier blocks in.
            _, as_shown = apply_block(original or "", block, path, copies=copies[key])
            failed.append((as_shown if isinstance(as_shown, Failed) else outcome).message)
        return texts, applied, failed

    def _check(self, texts: dict[str, str]) -> str | None:
        """What an edited Python file would fail on before it ran, with the lines concerned: a syntax error, or a
        name the edits left in use after removing everything that bound it (a replaced import whose old name is
        still called: the embedded model changed `from sklearn.tree import DecisionTreeClassifier` alone)."""
        for path, text in texts.items():
            if not path.endswith(".py"):
                continue
            try:
                tree = ast.parse(text, filename=path)
            except SyntaxError as error:
                line = error.lineno or 1
                around = numbered(text, line - EXCERPT_CONTEXT, line + EXCERPT_CONTEXT)
                return (f"With these edits {path} would not parse: {error.msg} (line {line}). The edited file around "
                        f"it:\n```\n{around}\n```\nNothing was written.")
            try:
                before = ast.parse(self._existing(path) or "")
            except SyntaxError:
                continue  # the file did not parse before either: nothing to compare with
            lost = _bound_names(before) - _bound_names(tree)
            uses = sorted({(node.lineno, node.id) for node in ast.walk(tree)
                           if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in lost})
            if uses and not _star_import(tree):
                lines = text.splitlines()
                shown = "\n".join(f"{n:>5}| {lines[n - 1]}" for n, _ in uses[:6])
                names = ", ".join(f"`{name}`" for name in sorted({name for _, name in uses}))
                return (f"With these edits {path} would still use {names}, which they no longer import or define:\n"
                        f"```\n{shown}\n```\nChange these lines too (or keep what defined the name). Nothing was "
                        "written.")
        return None

    def _whole_file(self, completion: Any) -> str | None:
        """A reply holding a complete new script instead of blocks (small models sometimes answer so): its code,
        when it is not cut off and is at least 80% as long as the current script; else None."""
        code, _ = split_reply(completion.text)
        if code is None or completion.finish_reason == "length":
            return None
        return code if len(code.splitlines()) >= 0.8 * len(self.current.splitlines()) else None

    def _write(self, texts: dict[str, str], applied: list[Applied], steps: int, completion: Any,
               whole: bool) -> None:
        """Write the edited files through the workspace, one `write_file` step each (the reply's tokens on the
        first)."""
        for path, text in texts.items():
            edits = [{"kind": "whole_file"}] if whole else [a.model_dump() for a in applied if a.path == path]
            arguments = {"path": path, "content": text}
            observation = self._act("write_file", arguments)
            self._record(steps, {"tool": "write_file", "arguments": arguments, "edits": edits},
                         observation.model_dump(), completion)
            completion = None
            if not observation.ok:  # a size limit: nothing protected reaches here (see _refuse_protected)
                raise _Refused("not_applied", problems=observation.text, recorded=True)

    def _blocks_action(self, blocks: list[EditBlock]) -> dict[str, Any]:
        return {"tool": "edit_file", "arguments": {"path": self.script},
                "blocks": [b.model_dump() for b in blocks]}

    def _excerpt(self, error: str) -> str:
        """The numbered lines of the current script around what changed since the opening showed it, and around
        the lines `error` names."""
        lines = self.current.splitlines()
        marks: set[int] = set()
        matcher = difflib.SequenceMatcher(None, self._shown.splitlines(), lines, autojunk=False)
        for tag, _, _, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                marks.update(range(j1 + 1, max(j1 + 1, j2) + 1))
        name = re.escape(Path(self.script).name)
        marks.update(int(n) for n in re.findall(rf'File "[^"]*{name}", line (\d+)', error))
        shown: set[int] = set()
        for mark in marks:
            shown.update(range(max(1, mark - EXCERPT_CONTEXT), min(len(lines), mark + EXCERPT_CONTEXT) + 1))
        parts: list[str] = []
        previous = 0
        for n in sorted(shown):
            if parts and n != previous + 1:
                parts.append("  ...")
            parts.append(f"{n:>5}| {lines[n - 1]}")
            previous = n
        return "\n".join(parts)

    def _record(self, step: int, action: dict[str, Any] | None, observation: dict[str, Any], completion: Any) -> None:
        trace_step(self.trace, self.step_counter, step, action, observation, completion, strategy="edit")


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name `tree` binds anywhere (imports, definitions, assignments, arguments, handlers), scopes ignored."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            names.update(node.names)
    return names


def _star_import(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names) for node in ast.walk(tree))


def _prose(reply: str) -> str:
    """A reply's text outside its blocks and code fences (what the model said it changed)."""
    kept: list[str] = []
    in_block = in_fence = False
    for line in reply.splitlines():
        if SEARCH_MARK.match(line) or REPLACE_MARK.match(line):
            in_block = bool(SEARCH_MARK.match(line))
        elif FENCE_LINE.match(line):
            in_fence = not in_fence
        elif not in_block and not in_fence and not PATH_LINE.match(line.strip()):
            kept.append(line)
    return " ".join(" ".join(kept).split())
