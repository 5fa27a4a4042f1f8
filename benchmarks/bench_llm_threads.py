"""Embedded LLM speed by thread count, on a quiet machine and beside competing busy processes.

llama.cpp's worker threads wait for each other by spinning at every step of a token; when another process takes a
core, one thread is descheduled and the others spin until it runs again, so using every core can be far slower than
leaving one free. This measures decode and prompt tokens/s of the embedded model for n_threads in {1, ..., cores}
and for copilot's automatic choice (`copilot.llm.local.auto_threads`, which samples the load just before each call),
quiet, beside one process that spins on a core, and beside one that is busy half of the time. Prints a markdown table.

    .venv/bin/python benchmarks/bench_llm_threads.py [--model embedded:qwen2.5-coder-1.5b-instruct-q4_k_m]

The machine must be otherwise quiet for the numbers to mean anything: the "quiet" rows measure whatever else runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.llm.local import LocalBackend, auto_threads, usable_cores

T = TypeVar("T")

PROMPT = ("You are a helpful machine-learning engineer. Write a Python script that loads data/train.csv with pandas, "
          "trains a gradient boosting classifier with scikit-learn, evaluates it with five-fold cross-validation and "
          "prints the mean accuracy, with a comment on every line. ") * 4


def _spin(duty: float) -> None:
    """Keep one core busy `duty` of the time (pure Python, so it holds one core and no more)."""
    period = 0.05
    while True:
        start = time.perf_counter()
        while time.perf_counter() - start < period * duty:
            pass
        if duty < 1.0:
            time.sleep(period * (1.0 - duty))


def _with_competitor(duty: float | None, measure: Callable[[], T]) -> T:
    if duty is None:
        return measure()
    process = multiprocessing.Process(target=_spin, args=(duty,), daemon=True)
    process.start()
    try:
        time.sleep(1.0)  # let the scheduler see the competitor before the thread count is chosen
        return measure()
    finally:
        process.terminate()
        process.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct-q4_k_m")
    parser.add_argument("--tokens", type=int, default=32, help="decoded tokens per measurement")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    backend = LocalBackend(model=args.model, n_ctx=2048, temperature=0.0)
    llama = backend._load()
    prompt = llama.tokenize(PROMPT.encode(), add_bos=True)

    def measure(threads: int | None) -> tuple[float, float, list[int]]:
        """Median decode and prompt tokens/s with `threads` (None: copilot's automatic choice, made before each
        repetition as the backend makes it before each call), and the thread counts used."""
        decode, batch, used = [], [], []
        for _ in range(args.repeat):
            chosen = auto_threads() if threads is None else threads
            used.append(chosen)
            llama._ctx.set_n_threads(chosen, chosen)
            llama.reset()
            start = time.perf_counter()
            llama.eval(prompt)
            batch.append(len(prompt) / (time.perf_counter() - start))
            token = prompt[-1]
            start = time.perf_counter()
            for _ in range(args.tokens):  # one forward pass per token: what decoding costs, without sampling
                llama.eval([token])
            decode.append(args.tokens / (time.perf_counter() - start))
        return statistics.median(decode), statistics.median(batch), used

    load_before = os.getloadavg()[0]
    cores = usable_cores()
    configs: list[tuple[str, int | None]] = [(str(n), n) for n in range(1, cores + 1)] + [("auto", None)]
    conditions = [("quiet", None), ("one busy process", 1.0), ("one half-busy process", 0.5)]
    rows = []
    for condition, duty in conditions:
        for label, threads in configs:
            decode, batch, used = _with_competitor(duty, lambda threads=threads: measure(threads))  # type: ignore[misc]
            shown = f"auto (used {', '.join(map(str, used))})" if threads is None else label
            rows.append((condition, shown, decode, batch))
            print(f"  {condition}, n_threads={shown}: decode {decode:.1f} tok/s, prompt {batch:.1f} tok/s",
                  file=sys.stderr, flush=True)

    print(f"model: {backend.model}, {cores} usable cores (os.cpu_count() = {os.cpu_count()}), "
          f"{args.tokens} decoded tokens and a {len(prompt)}-token prompt per measurement, median of {args.repeat}, "
          f"1-minute load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}\n")
    print("| condition | n_threads | decode tokens/s | prompt tokens/s |\n|---|---|---|---|")
    for condition, label, decode, batch in rows:
        print(f"| {condition} | {label} | {decode:.1f} | {batch:.1f} |")


if __name__ == "__main__":
    main()
