"""The model's words: a method read from a free-text answer, and how alike two texts are in their words."""

from __future__ import annotations

import json
import re

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by for from in is it of on or that the this to with we our using use".split()  # noqa: SIM905
)


def _tokens(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def jaccard(a: str, b: str) -> float:
    """Token-set Jaccard similarity of two texts, ignoring stop words (the lexical half of the novelty check)."""
    ta, tb = _tokens(a), _tokens(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


def _json_string(body: str) -> str:
    """The value of a JSON string literal's body; raw newlines and tabs inside it (which strict JSON forbids and the
    embedded model writes) are allowed, and a broken escape leaves the body as it is."""
    try:
        return json.loads(f'"{body}"', strict=False)
    except json.JSONDecodeError:
        return body


def written_method(text: str, limit: int = 800) -> str:
    """A free-text answer as a method field: code fences and a leading "Method:" label dropped, whitespace joined,
    and cut at the last sentence end within `limit` characters. A reply that is a JSON object (asked in free text
    after a JSON reply, the embedded model repeated its hypothesis object, ucr-gunpoint) gives its `method` field;
    one without that field gives ""."""
    text = re.sub(r"```(?:python3?|py|json)?", " ", text)
    if text.strip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            field_ = re.search(r'"method"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
            data = {"method": _json_string(field_.group(1))} if field_ else {}
        text = data.get("method", "") if isinstance(data, dict) and isinstance(data.get("method"), str) else ""
    text = re.sub(r"^\s*(?:\*\*)?method\s*(?::\s*(?:\*\*)?|(?:\*\*)\s*:)\s*", "", text, flags=re.IGNORECASE)
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > 0 else cut
