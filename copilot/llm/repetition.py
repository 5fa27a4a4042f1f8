"""Ending a local model's reply that has fallen into a loop, instead of letting it run to `max_tokens`.

Small models sometimes repeat one or a few lines until the token budget ends: the embedded model wrote
`num_residual_layers=2,` / `num_residual_channels=32,` ... for 2,048 tokens in 5 of 117 whole-script replies of our
runs, two to three minutes of a fifteen-minute budget each. The guard is a llama.cpp logits processor:
once the newest generated tokens are periodic (the last `window` tokens repeat a cycle of at most `max_period`
tokens at least `min_repeats` times), it allows only the end-of-sequence token, so the reply stops there. The reply
is cut, which is what `max_tokens` would have done later; the caller sees `finish_reason="repetition"`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_looping(tokens: np.ndarray, max_period: int = 128, min_repeats: int = 4, min_window: int = 256) -> bool:
    """Whether the tail of `tokens` is a cycle of length p <= `max_period` repeated `min_repeats` times, covering at
    least `min_window` tokens (so short legitimate repeats, a row of `0, 0, 0` or `----`, do not count)."""
    for period in range(1, max_period + 1):
        window = max(min_window, period * min_repeats)
        if len(tokens) < window:
            return False
        tail = tokens[-window:]
        if np.array_equal(tail[period:], tail[:-period]):
            return True
    return False


class RepetitionGuard:
    """A llama-cpp-python logits processor that forces end-of-sequence once the generated tokens loop.

    `input_ids` holds the prompt and the tokens generated so far; only tokens after `prompt_tokens` are checked (a
    prompt may quote an earlier looping reply). `tripped` tells the caller the reply was cut."""

    def __init__(self, eos_token: int, prompt_tokens: int | None = None, check_every: int = 16) -> None:
        self.eos_token = eos_token
        self.prompt_tokens = prompt_tokens
        self.check_every = check_every
        self.tripped = False
        self._calls = 0

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> Any:
        if self.prompt_tokens is None:  # the first call comes right after the prompt was evaluated
            self.prompt_tokens = len(input_ids)
        self._calls += 1
        if not self.tripped and self._calls % self.check_every == 0:
            self.tripped = is_looping(np.asarray(input_ids[self.prompt_tokens:]))
        if not self.tripped:
            return scores
        forced = np.full_like(scores, -np.inf)
        forced[self.eos_token] = 0.0
        return forced
