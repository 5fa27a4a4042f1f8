"""Local retrieval (BM25 via bm25s): build time, memory and query latency at 1k, 10k and 100k generated records.
Target: under 50 ms per query at 100k. Prints a markdown table.

    .venv/bin/python benchmarks/bench_retrieval.py [--queries 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.retrieval.local import LocalRetriever

WORDS = [
    "learning", "model", "data", "neural", "network", "tabular", "boosting", "tree", "forest", "kernel",
    "attention", "transformer", "graph", "embedding", "contrastive", "retrieval", "benchmark",
    "accuracy", "robust", "causal", "bayesian", "sparse", "quantization", "pruning", "distillation",
    "federated", "privacy", "vision", "language", "speech", "reinforcement", "policy", "reward",
    "planning", "diffusion", "generative", "adversarial", "calibration", "uncertainty", "ensemble",
    "regression", "classification", "clustering",
]


def records(n: int, rng: random.Random) -> list[dict]:
    return [{"title": " ".join(rng.choices(WORDS, k=8)), "abstract": " ".join(rng.choices(WORDS, k=80)),
             "year": rng.randint(1995, 2025)} for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(0)
    print("| records | build s | index memory MB | median query ms | p95 query ms |")
    print("|---|---|---|---|---|")
    for n in (1_000, 10_000, 100_000):
        data = records(n, rng)
        tracemalloc.start()
        start = time.perf_counter()
        retriever = LocalRetriever(records=data)
        build = time.perf_counter() - start
        memory = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        latencies = []
        for _ in range(args.queries):
            query = [" ".join(rng.choices(WORDS, k=4))]
            start = time.perf_counter()
            retriever.search(query, 20)
            latencies.append((time.perf_counter() - start) * 1000)
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"| {n:,} | {build:.2f} | {memory:.0f} | {statistics.median(latencies):.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
