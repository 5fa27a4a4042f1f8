"""Paper ingestion: PDF, arXiv id/URL, or Markdown/plain text → `Paper`."""

from copilot.paper.model import Paper, Reference, Section
from copilot.paper.source import load_paper

__all__ = ["Paper", "Reference", "Section", "load_paper"]
