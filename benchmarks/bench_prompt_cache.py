"""The prompt cache (copilot/llm/prompt_cache.py) on a real run's calls: the prompts of a recorded run
(`agent_log/full_log.jsonl`, in their order, with the recorded replies inside later prompts) sent again to the
embedded model, once with llama.cpp's own single-sequence KV cache and once with the states of earlier prompts kept
(`prompt_cache_mb`). Replies are capped at one token, so prompt processing is what is measured. Prints, per run and
setting, the share of prompt tokens served from cache and the LLM seconds.

    .venv/bin/python benchmarks/bench_prompt_cache.py logs/bench_outcomes/*/agent_log/full_log.jsonl \
        [--model embedded:qwen2.5-coder-1.5b-instruct-q4_k_m] [--calls 40] [--cache-mb 1024]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.llm.base import Message, Request
from copilot.llm.local import LocalBackend


def recorded_requests(log: Path, limit: int) -> list[list[Message]]:
    """The messages of the first `limit` calls of a run's call log."""
    requests = []
    for line in log.read_text(encoding="utf-8").splitlines()[:limit]:
        record = json.loads(line)
        requests.append([Message(role=m["role"], content=m.get("content") or "")
                         for m in record["request"]["messages"]])
    return requests


def replay(model: str, requests: list[list[Message]], cache_mb: int) -> tuple[int, int, float]:
    """Prompt tokens, cached prompt tokens and seconds of generation for the requests, in order, on a fresh model."""
    backend = LocalBackend(model=model, n_ctx=8192, prompt_cache_mb=cache_mb, stop_loops=False)
    prompt = cached = 0
    seconds = 0.0
    for messages in requests:
        started = time.perf_counter()
        completion = backend.generate(Request(messages=messages, max_tokens=1))
        seconds += time.perf_counter() - started
        prompt += completion.usage.prompt_tokens
        cached += completion.usage.cached_prompt_tokens
    return prompt, cached, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path, help="runs' agent_log/full_log.jsonl")
    parser.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct-q4_k_m")
    parser.add_argument("--calls", type=int, default=1000, help="the first N calls of each run")
    parser.add_argument("--cache-mb", type=int, default=1024)
    args = parser.parse_args()
    print("| run | calls | setting | prompt tokens | cached | cached share | LLM seconds |")
    print("|---|---|---|---|---|---|---|")
    for log in args.logs:
        requests = recorded_requests(log, args.calls)
        name = log.parent.parent.name
        for setting, cache_mb in (("last prompt only", 0), (f"prompt cache {args.cache_mb} MB", args.cache_mb)):
            prompt, cached, seconds = replay(args.model, requests, cache_mb)
            print(f"| {name} | {len(requests)} | {setting} | {prompt:,} | {cached:,} | "
                  f"{cached / prompt if prompt else 0:.2f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
