"""The loop detector that ends a local model's looping reply (copilot/llm/repetition.py), on token id arrays."""

from __future__ import annotations

import numpy as np

from copilot.llm.repetition import RepetitionGuard, is_enumerating, is_looping, prose_after_code


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


def test_the_guard_ends_a_reply_that_runs_on_after_its_code():
    """Token ids stand for text pieces here (a scripted detokenizer): a closed code block, then line after line of
    prose that is not periodic (the embedded model's "- Changed the `nn.MaxPool5d` ..." list, one name each)."""
    pieces = ["```python\n", "x = 1\n", "```\n", "I changed x.\n"] + [f"- Changed layer {i} to another.\n"
                                                                     for i in range(200)]
    detokenize = lambda ids: "".join(pieces[i] for i in ids).encode()  # noqa: E731
    scores = np.zeros(300, dtype=np.single)
    guard = RepetitionGuard(eos_token=299, prompt_tokens=0, check_every=1, detokenize=detokenize,
                            prose_after_code=200)
    assert guard(np.arange(4), scores) is scores and not guard.tripped  # the code and one sentence
    forced = guard(np.arange(12), scores)  # 8 list lines after it: over 200 characters
    assert guard.tripped and guard.reason == "prose" and forced[299] == 0.0
    # An open block (the code still being written) or prose before any code is never cut.
    assert prose_after_code("```python\nx = 1\n" + "y = 2\n" * 500) == 0
    assert prose_after_code("Here is my plan. " * 200) == 0
    assert prose_after_code("```\na\n```\nb\n```python\nc\n```\nDone.") == len("\nDone.")


def test_a_list_written_out_item_by_item_is_a_loop_though_its_numbers_differ():
    """The shapes of the logged replies that ran to 2,048 tokens (monthly-nbeats' `self.fc23 = nn.Linear(...)` up to
    `fc119`, tabular-digits' `train["pixel_0_0"], ...`); ordinary code of the same length, with numbers in it, is
    not one. In the guard, a list after a closed code block is left to the prose rule (the code is whole)."""
    head = "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    layers = "".join(f"        self.fc{i} = nn.Linear(hidden_dim, hidden_dim)\n" for i in range(1, 40))
    assert is_enumerating(head + layers)
    assert not is_enumerating(head + layers[:1000]), "under 1,200 characters of the list"
    pixels = "X = pd.concat([" + ", ".join(f'train["pixel_{r}_{c}"]' for r in range(8) for c in range(8))
    assert is_enumerating(pixels)
    script = "\n".join(f"model_{i} = fit(data[{i * 7 % 13}:], depth={i % 5}, seed={i})  # run {i}: {'x' * (i % 9)}"
                         for i in range(40))
    assert not is_enumerating(script), "items that differ in more than their numbers"
    assert not is_enumerating("x = 1\n" * 50 + "y = 2\n" * 50), "a short file"

    pieces = ["```python\n", *(f"self.fc{i} = nn.Linear(8, 8)\n" for i in range(100))]
    detokenize = lambda ids: "".join(pieces[i] for i in ids).encode()  # noqa: E731
    scores = np.zeros(200, dtype=np.single)
    guard = RepetitionGuard(eos_token=199, prompt_tokens=0, check_every=1, detokenize=detokenize)
    ids = list(range(1, 30))  # 29 lines: under 1,200 characters
    assert guard(np.array(ids), scores) is scores and not guard.tripped
    forced = guard(np.arange(101), scores)
    assert guard.tripped and guard.reason == "loop" and forced[199] == 0.0
    closed = ["```python\n", "x = 1\n", "```\n", *(f"- Changed layer {i} to another.\n" for i in range(100))]
    guard = RepetitionGuard(eos_token=199, prompt_tokens=0, check_every=1,
                            detokenize=lambda ids: "".join(closed[i] for i in ids).encode())
    guard(np.arange(60), scores)
    assert guard.tripped and guard.reason == "prose", "after its code, a list is cut as prose: the code is used"
