"""Related-work retrieval: arXiv, Semantic Scholar and a local BM25 library, merged and deduplicated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from copilot.retrieval.base import PaperRef, Retriever


def build_retrievers(
    cfg: DictConfig | dict[str, Any], *, folder: Path | None, references: list[Any]
) -> list[Retriever]:
    """The retrievers of a `conf/retrieval/*.yaml`; the local one gets the task's library folder and references."""
    conf = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)
    built: list[Retriever] = []
    for _, node in (conf.get("retrievers") or {}).items():
        if node is None:
            continue
        if str(node.get("_target_", "")).endswith("LocalRetriever"):
            built.append(instantiate(node, folder=folder, references=references))
        else:
            built.append(instantiate(node))
    return built


__all__ = ["PaperRef", "Retriever", "build_retrievers"]
