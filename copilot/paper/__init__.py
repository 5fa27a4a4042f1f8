"""Paper ingestion: PDF, arXiv id/URL, or Markdown/plain text → `Paper`."""

from copilot.paper.model import OutlineEntry, Paper, Readability, Reference, Section
from copilot.paper.source import load_paper

__all__ = ["OutlineEntry", "Paper", "Readability", "Reference", "Section", "load_paper"]
