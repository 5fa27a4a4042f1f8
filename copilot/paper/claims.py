"""The sentences of an abstract that state what the paper contributes: what it proposes, introduces or shows, and what
it finds best. A paper says which of its methods is the one to reproduce in these sentences, and a small model asked
to name that method from the whole paper named something else: the embedded model read the digits paper ("The largest
gain comes from an RBF support-vector machine", "recover accuracy without deep networks") as "Implement a deep
learning model". Picked by the phrasing scholarly abstracts use for a contribution, not by any topic."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
_CONTRIBUTION = re.compile(
    r"\b(?:we|this (?:paper|work)|our (?:method|model|approach|system))\s+"
    r"(?:propose|introduce|present|develop|show|demonstrate|find|describe)s?\b"
    r"|\b(?:largest|biggest|greatest|best|highest|lowest)\s+(?:gain|improvement|results?|accuracy|performance|error)\b"
    r"|\boutperform|\bstate-of-the-art\b",
    re.IGNORECASE)


def claim_sentences(abstract: str, limit: int = 3) -> list[str]:
    """The first `limit` sentences of `abstract`, in its order, that state a contribution ("We propose ...", "We show
    that ...", "The largest gain comes from ...", "... outperforms ..."); [] when none does."""
    sentences = (" ".join(s.split()) for s in _SENTENCE_END.split(abstract))
    return [s for s in sentences if _CONTRIBUTION.search(s)][:limit]
