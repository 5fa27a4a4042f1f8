"""The loop detector that ends a local model's looping reply (copilot/llm/repetition.py), on token id arrays."""

from __future__ import annotations

import numpy as np

from copilot.llm.repetition import RepetitionGuard, is_looping


def test_a_cycle_repeated_over_the_window_is_a_loop():
    rng = np.random.default_rng(0)
    prefix = rng.integers(0, 50_000, 300)
    cycle = rng.integers(0, 50_000, 9)  # "    num_stacked_layers=1,\n" is about this long
    assert is_looping(np.concatenate([prefix, np.tile(cycle, 30)]))  # 270 tokens of the cycle
    assert not is_looping(np.concatenate([prefix, np.tile(cycle, 20)]))  # 180 tokens: under the 256-token window
    assert not is_looping(rng.integers(0, 50_000, 2000)), "ordinary text has no such tail"
    long_cycle = rng.integers(0, 50_000, 100)
    assert is_looping(np.tile(long_cycle, 4)) and not is_looping(np.tile(long_cycle, 3))
    assert not is_looping(np.concatenate([np.tile(cycle, 40), prefix])), "a loop that ended is not a loop"


def test_the_guard_forces_end_of_sequence_once_the_generated_tokens_loop():
    scores = np.zeros(10, dtype=np.single)
    guard = RepetitionGuard(eos_token=7, check_every=1)
    prompt = np.tile(np.array([1, 2, 3]), 200)  # a looping prompt (an earlier reply quoted back) is not checked
    assert guard(prompt, scores) is scores and guard.prompt_tokens == 600 and not guard.tripped
    generated = np.concatenate([prompt, np.tile(np.array([4, 5]), 130)])
    forced = guard(generated, scores)
    assert guard.tripped and forced[7] == 0.0 and np.isneginf(np.delete(forced, 7)).all()
