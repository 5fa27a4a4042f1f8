"""Ending a local model's reply that has fallen into a loop, instead of letting it run to `max_tokens`.

Small models sometimes repeat one or a few lines until the token budget ends: the embedded model wrote
`num_residual_layers=2,` / `num_residual_channels=32,` ... for 2,048 tokens in 5 of 117 whole-script replies of our
runs, two to three minutes of a fifteen-minute budget each. The guard is a llama.cpp logits processor:
once the newest generated tokens are periodic (the last `window` tokens repeat a cycle of at most `max_period`
tokens at least `min_repeats` times), it allows only the end-of-sequence token, so the reply stops there. The reply
is cut, which is what `max_tokens` would have done later; the caller sees `finish_reason="repetition"`.

A loop need not be periodic: after a complete script, the embedded model wrote "- Changed the `nn.MaxPool5d` to
`nn.MSELoss` ...", "- Changed the `nn.AvgPool5d` ...", one line per made-up layer name, until 2,048 tokens (three
replies of the real suite's ucr-gunpoint at 5bbabca, 112-145 s each, most of its 10 minutes). With `detokenize`
given, the guard also ends a reply once it has gone on for `prose_after_code` characters after a closed code block
with no new block opened: every reply format of the agents asks for a sentence or two there. That reply is
complete (its code is whole); the caller sees `finish_reason="prose_cut"`.

Nor is an enumeration periodic in tokens: `self.fc23 = nn.Linear(...)`, `self.fc24 = ...` up to `fc119`, or
`train["pixel_0_0"], train["pixel_0_1"], ...`, one number different per item, ran to 2,048 tokens in 11 whole-script
replies of our logged runs (monthly-nbeats, tabular-digits, sat-heuristic). With `detokenize` given, the guard also
ends a reply whose text, with every run of digits read as one digit, is periodic (`is_enumerating`); replayed over
the 2,818 logged replies of all our runs, that fires on those 11 at 1,900-3,500 of their 4,300-8,300 characters
and on none of the 2,710 replies that had ended by themselves. The caller sees `finish_reason="repetition"`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


_DIGITS = re.compile(r"\d+")


def is_enumerating(text: str, min_chars: int = 1200, max_period: int = 400, min_repeats: int = 4) -> bool:
    """Whether the tail of `text`, with each run of digits read as "0", is a cycle of at most `max_period` characters
    repeated `min_repeats` times, covering at least `min_chars` characters: a list written out item by item
    (`fc23`, `fc24`, ...), which `is_looping` misses because one number differs per item."""
    if len(text) < min_chars:
        return False
    tail = _DIGITS.sub("0", text[-3 * min_chars:])
    for period in range(1, max_period + 1):
        window = max(min_chars, period * min_repeats)
        if len(tail) < window:
            return False
        if tail[-window + period:] == tail[-window:-period]:
            return True
    return False


FENCE = "```"


def prose_after_code(text: str) -> int:
    """How many characters `text` has after its last closed code block, when no block is open; 0 otherwise."""
    fences = text.count(FENCE)
    if fences < 2 or fences % 2:
        return 0
    return len(text) - text.rindex(FENCE) - len(FENCE)


class RepetitionGuard:
    """A llama-cpp-python logits processor that forces end-of-sequence once the generated tokens loop, or (with
    `detokenize`) once the reply runs on for `prose_after_code` characters after its code.

    `input_ids` holds the prompt and the tokens generated so far; only tokens after `prompt_tokens` are checked (a
    prompt may quote an earlier looping reply). `tripped` tells the caller the reply was cut, `reason` why: "loop" or
    "prose"."""

    def __init__(self, eos_token: int, prompt_tokens: int | None = None, check_every: int = 16,
                 detokenize: Callable[[list[int]], bytes] | None = None, prose_after_code: int = 1200) -> None:
        self.eos_token = eos_token
        self.prompt_tokens = prompt_tokens
        self.check_every = check_every
        self.detokenize = detokenize
        self.prose_after_code = prose_after_code
        self.tripped = False
        self.reason = ""
        self._calls = 0
        self._text, self._decoded = b"", 0  # the generated reply so far, and how many of its tokens that is

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> Any:
        if self.prompt_tokens is None:  # the first call comes right after the prompt was evaluated
            self.prompt_tokens = len(input_ids)
        self._calls += 1
        if not self.tripped and self._calls % self.check_every == 0:
            generated = np.asarray(input_ids[self.prompt_tokens:])
            if is_looping(generated):
                self.tripped, self.reason = True, "loop"
            elif self.detokenize is not None:  # only the tokens new since the last check are decoded
                self._text += self.detokenize([int(t) for t in generated[self._decoded:]])
                self._decoded = len(generated)
                text = self._text.decode("utf-8", errors="ignore")
                after_code = prose_after_code(text)  # after a closed block the code is whole: a list there is prose
                if after_code > self.prose_after_code:
                    self.tripped, self.reason = True, "prose"
                elif not after_code and is_enumerating(text):
                    self.tripped, self.reason = True, "loop"
        if not self.tripped:
            return scores
        forced = np.full_like(scores, -np.inf)
        forced[self.eos_token] = 0.0
        return forced
