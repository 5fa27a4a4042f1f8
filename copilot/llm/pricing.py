"""Prices of hosted models, in US dollars per million tokens, and the cost of a call from its `Usage`.

Prices change: the table is a default that a preset can override with `price:` in its yaml. Unknown models cost 0
and are reported as such, never guessed.
"""

from __future__ import annotations

from pydantic import BaseModel

from copilot.llm.base import Usage


class Price(BaseModel):
    """Dollars per million tokens: fresh input, cached input (read), cache write, and output."""

    input: float
    output: float
    cached_input: float | None = None
    cache_write: float | None = None


# Longest matching prefix wins. Sources: the providers' public price pages (2025).
PRICES: dict[str, Price] = {
    "claude-opus-4": Price(input=15.0, output=75.0, cached_input=1.5, cache_write=18.75),
    "claude-sonnet-4": Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75),
    "claude-3-7-sonnet": Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75),
    "claude-3-5-haiku": Price(input=0.8, output=4.0, cached_input=0.08, cache_write=1.0),
    "claude-haiku-4": Price(input=1.0, output=5.0, cached_input=0.1, cache_write=1.25),
    "gpt-4o-mini": Price(input=0.15, output=0.6, cached_input=0.075),
    "gpt-4o": Price(input=2.5, output=10.0, cached_input=1.25),
    "gpt-4.1-mini": Price(input=0.4, output=1.6, cached_input=0.1),
    "gpt-4.1": Price(input=2.0, output=8.0, cached_input=0.5),
    "gpt-4-turbo": Price(input=10.0, output=30.0),
    "o4-mini": Price(input=1.1, output=4.4, cached_input=0.275),
}


def lookup_price(model: str, override: Price | None = None) -> Price | None:
    """The price of `model`: the override if given, else the longest table prefix that matches, else None."""
    if override is not None:
        return override
    matches = [key for key in PRICES if model.startswith(key)]
    return PRICES[max(matches, key=len)] if matches else None


def cost_of(usage: Usage, price: Price | None) -> float:
    """Dollars for one call. `usage.prompt_tokens` includes cached tokens, which are billed at the cached rate."""
    if price is None:
        return 0.0
    cached = usage.cached_prompt_tokens
    fresh = max(usage.prompt_tokens - cached - usage.cache_write_tokens, 0)
    dollars = fresh * price.input + usage.completion_tokens * price.output
    dollars += cached * (price.cached_input if price.cached_input is not None else price.input)
    dollars += usage.cache_write_tokens * (price.cache_write if price.cache_write is not None else price.input)
    return dollars / 1_000_000
