"""Prefix reuse on the embedded model: a 15-step agent episode with an append-only context (copilot's way) versus
a context rebuilt every step (the MLR-Copilot way: a research-log summary that changes every step, plus the last
three steps). Same model, same step contents, replies capped at a few tokens so prompt processing dominates.
Reports cached-prompt-token ratio and total LLM seconds for each; target: at least 5x fewer LLM seconds.

    .venv/bin/python benchmarks/bench_prefix_reuse.py [--model embedded:qwen2.5-coder-1.5b-instruct-q4_k_m]
    .venv/bin/python benchmarks/bench_prefix_reuse.py --header-from benchmarks/data/agent_first_step.jsonl

`benchmarks/data/agent_first_step.jsonl` is the first agent-step record of a real `llm=local` run on
tabular-digits (system prompt, task message with the plan, tool list: 2.3k tokens), so the second form measures the
prefix copilot really sends.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.llm.base import Message
from copilot.llm.client import LLM
from copilot.llm.local import LocalBackend

SYSTEM = ("You are an expert machine-learning engineer working in a code workspace. You implement experiment plans "
          "by reading and editing files and running commands, one tool call per reply. ") * 4
TASK = ("# Task: digit classification\nImplement the plan: replace the shallow decision tree in train.py with a "
        "standardised logistic regression, then an RBF SVM, and compare accuracy.\n\nWorkspace files:\n"
        + "\n".join(f"- data/part_{i}.csv ({1000 + 37 * i:,} bytes)" for i in range(25)))


def step(i: int) -> list[Message]:
    """One recorded step: the agent's action and the tool's observation (about 150 tokens)."""
    action = f'{{"thought": "Step {i}: inspect and adjust the training script.", "tool": "read_file", ' \
             f'"arguments": {{"path": "train.py", "start_line": {i}}}}}'
    observation = "\n".join(f"{n:>5}| model_{i} = fit_and_score(train[features], train['label'], step={n})"
                            for n in range(i, i + 8))
    return [Message(role="assistant", content=action), Message(role="user", content=f"Observation:\n{observation}")]


def episode(llm: LLM, contexts: list[list[Message]], tools: list | None) -> tuple[int, int, float]:
    prompt = cached = 0
    seconds = 0.0
    for messages in contexts:
        result = llm.complete(messages, tools=tools, max_tokens=4)
        prompt += result.usage.prompt_tokens
        cached += result.usage.cached_prompt_tokens
        seconds += result.latency_s
    return prompt, cached, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct-q4_k_m")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--header-from", type=Path, help="a run's agent_log/full_log.jsonl: use the system and task "
                        "messages and the tool list of its first agent step (the prompt copilot really sends)")
    args = parser.parse_args()
    system, task, tools = SYSTEM, TASK, None
    if args.header_from:
        from copilot.experiment.tools import tool_specs

        first = next(json.loads(line) for line in args.header_from.open() if '"experiment.step"' in line)
        system, task = (m["content"] for m in first["request"]["messages"][:2])
        tools = tool_specs()
    header = [Message(role="system", content=system), Message(role="user", content=task)]
    steps = [step(i) for i in range(1, args.steps + 1)]
    append_only = [header + [m for s in steps[:i] for m in s] + [Message(role="user", content="Next action?")]
                   for i in range(args.steps)]
    rebuilt = []
    for i in range(args.steps):
        log = "\n".join(f"- step {j + 1}: read train.py from line {j + 1}; results noted" for j in range(i))
        recent = [m for s in steps[max(0, i - 3) : i] for m in s]
        rebuilt.append([header[0], Message(role="user", content=f"Research log so far:\n{log or '(empty)'}\n\n"
                                           + task), *recent, Message(role="user", content="Next action?")])
    rows = []
    for name, contexts in (("append-only (copilot)", append_only), ("rebuilt every step", rebuilt)):
        llm = LLM(LocalBackend(model=args.model, n_ctx=8192, temperature=0.0))
        prompt, cached, seconds = episode(llm, contexts, tools)
        rows.append((name, prompt, cached, seconds))
    where = f"header and tools from {args.header_from}" if args.header_from else "synthetic header, no tools"
    print(f"model: {args.model}, {args.steps} steps, {where}\n")
    print("| context | prompt tokens | cached | cached ratio | LLM seconds |\n|---|---|---|---|---|")
    for name, prompt, cached, seconds in rows:
        print(f"| {name} | {prompt:,} | {cached:,} | {cached / prompt:.2f} | {seconds:.1f} |")
    print(f"\nLLM-seconds ratio (rebuilt / append-only): {rows[1][3] / rows[0][3]:.1f}x")


if __name__ == "__main__":
    main()
