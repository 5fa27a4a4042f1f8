"""Resolved models under their hub ids, offline: a Hugging Face cache layout in the run directory in which each
model stage 2 resolved (from a configured folder, an installed package or the real cache) appears under its hub id,
its snapshot a link to the local folder. The experiment's environment points `HF_HUB_CACHE` (and
`SENTENCE_TRANSFORMERS_HOME`) there, so `SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")` or
`AutoModel.from_pretrained("org/name")` loads the resolved files with the hub switched off: code from a paper's
repository names models by hub id, and the embedded model did so too, although the prompt gave the local path.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("copilot.experiment")

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def link_models(records: list[dict[str, Any]], folder: Path) -> dict[str, str]:
    """Lay out `folder` as a Hugging Face cache holding each model record that has a hub id (`org/name`) and an
    existing local folder; return the environment variables that make Hugging Face libraries read it ({} when no
    model qualifies). Safe to call again: existing links are kept or corrected."""
    linked = []
    for record in records:
        local = Path(record.get("local_path") or "")
        if record.get("kind") != "model" or not HUB_ID.match(str(record.get("id", ""))) or not local.is_dir():
            continue
        revision = record.get("revision") or hashlib.sha1(str(local.resolve()).encode()).hexdigest()
        repo = folder / f"models--{record['id'].replace('/', '--')}"
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(revision, encoding="utf-8")
        snapshot = repo / "snapshots" / revision
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        if snapshot.is_symlink() and snapshot.resolve() != local.resolve():
            snapshot.unlink()
        if not snapshot.is_symlink():
            snapshot.symlink_to(local.resolve(), target_is_directory=True)
        linked.append(record["id"])
    if not linked:
        return {}
    log.info("models available offline under their hub ids: %s", ", ".join(linked))
    return {"HF_HUB_CACHE": str(folder), "SENTENCE_TRANSFORMERS_HOME": str(folder)}
