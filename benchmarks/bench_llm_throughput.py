"""Embedded LLM decode speed: our `local` backend versus llama-cpp-python called directly, same model, same prompt,
same process. Each side first evaluates the prompt once, so the timed call is (almost) pure decoding.
Target: ratio >= 0.95. Prints a markdown table.

    .venv/bin/python benchmarks/bench_llm_throughput.py [--model embedded:qwen2.5-coder-1.5b-instruct-q4_k_m]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.llm.base import Message, Request
from copilot.llm.local import LocalBackend

PROMPT = [{"role": "system", "content": "You are a helpful machine-learning engineer."},
          {"role": "user", "content": "Write a Python function that trains a logistic regression with scikit-learn "
                                      "on a CSV file and prints the accuracy, with comments on every line."}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct-q4_k_m")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from llama_cpp import Llama

    ours = LocalBackend(model=args.model, n_ctx=2048, temperature=0.0, max_tokens=args.tokens)
    request = Request(messages=[Message(**m) for m in PROMPT], max_tokens=args.tokens, temperature=0.0)
    direct = Llama(model_path=str(ours.path), n_ctx=2048, n_threads=ours.n_threads, n_batch=ours.n_batch, seed=0,
                   verbose=False)

    def run_ours() -> int:
        return ours.generate(request).usage.completion_tokens

    def run_direct() -> int:
        reply = direct.create_chat_completion(messages=PROMPT, max_tokens=args.tokens, temperature=0.0, seed=0)
        return reply["usage"]["completion_tokens"]

    rates: dict[str, list[float]] = {"copilot local backend": [], "llama-cpp-python direct": []}
    run_ours(), run_direct()  # warm up: the prompt is now in each model's KV cache
    for _ in range(args.repeat):
        for name, fn in (("copilot local backend", run_ours), ("llama-cpp-python direct", run_direct)):
            start = time.perf_counter()
            tokens = fn()
            rates[name].append(tokens / (time.perf_counter() - start))
    ours_rate = statistics.median(rates["copilot local backend"])
    direct_rate = statistics.median(rates["llama-cpp-python direct"])
    print(f"model: {ours.model}, {ours.n_threads} threads, {args.tokens} new tokens, median of {args.repeat}\n")
    print("| runner | tokens/s |\n|---|---|")
    print(f"| copilot local backend | {ours_rate:.1f} |\n| llama-cpp-python direct | {direct_rate:.1f} |")
    print(f"| ratio | {ours_rate / direct_rate:.3f} |")


if __name__ == "__main__":
    main()
