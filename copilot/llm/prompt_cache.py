"""The model states of several earlier prompts, so that a prompt whose prefix is not the previous call's still reuses
its KV cache.

llama.cpp keeps the KV cache of one sequence: the previous call's. A run interleaves conversations with different
prefixes (the implementation episode, a profiling script, the coach's request for the paper's parts), and after each
switch the episode's 1-2k-token prompt was evaluated again from its first token (at about 60 tokens/s on 2 cores).
llama-cpp-python restores a saved state whose tokens share the longest prefix with the new prompt when the `Llama`
object has a cache (`Llama.set_cache`), and saves the state after every completion; this module is that cache.

It is llama-cpp-python's `LlamaRAMCache` (least recently used first out, bounded in bytes), storing only what a
restore needs: the KV state. The library also keeps, per state, a copy of the per-token logits array (up to n_batch x
n_vocab floats: 311 MB for Qwen2.5's 151,936-token vocabulary) that its byte bound does not count and that nothing
reads when `logits_all` is off (sampling happens inside llama.cpp's sampler); here it is cut to one row of zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from llama_cpp import LlamaRAMCache


class PromptStateCache(LlamaRAMCache):
    """Model states by token sequence, found by longest common prefix, at most `capacity_bytes` of KV state."""

    def __setitem__(self, key: Sequence[int], value: Any) -> None:
        value.scores = np.zeros((1, value.scores.shape[1]), dtype=np.single)
        super().__setitem__(key, value)

    @property
    def states(self) -> int:
        """How many states are kept."""
        return len(self.cache_state)
