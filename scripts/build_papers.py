"""Build each demo task's paper.pdf from its paper.md with PyMuPDF (committed next to the source).

    python scripts/build_papers.py [problems/<task> ...]

The Markdown subset: `# title`, one author line, `## headings`, paragraphs, and URLs (made into link annotations).
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import pymupdf

ROOT = Path(__file__).resolve().parent.parent
CSS = """
h1 { font-size: 18pt; font-weight: bold; text-align: center; margin-bottom: 6pt; }
p.authors { font-size: 11pt; text-align: center; margin-bottom: 12pt; }
h2 { font-size: 12pt; font-weight: bold; margin-top: 10pt; margin-bottom: 4pt; }
p { font-size: 10pt; text-align: justify; margin-bottom: 5pt; }
p.ref { font-size: 9pt; text-align: left; margin-bottom: 2pt; }
"""


def markdown_to_html(text: str) -> str:
    """The small Markdown subset above, as HTML for a PyMuPDF Story."""
    out, paragraph, in_refs = [], [], False

    def flush() -> None:
        if paragraph:
            body = html.escape(" ".join(paragraph))
            body = re.sub(r"(https?://[^\s<]+[^\s<.,;)])", r'<a href="\1">\1</a>', body)
            out.append(f"<p>{body}</p>")
            paragraph.clear()

    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:])}</h1>")
            authors = next((ln for ln in lines[index + 1 :] if ln.strip()), "")
            out.append(f'<p class="authors">{html.escape(authors)}</p>')
        elif line.startswith("## "):
            flush()
            in_refs = line[3:].strip().lower() == "references"
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif in_refs and line.strip():
            out.append(f'<p class="ref">{html.escape(line)}</p>')
        elif not line.strip():
            flush()
        elif out and out[-1].startswith('<p class="authors">') and html.escape(line) in out[-1]:
            continue
        else:
            paragraph.append(line.strip())
    flush()
    return "\n".join(out)


def build(source: Path, target: Path) -> None:
    """Render `source` (Markdown) into the PDF `target` on A4 pages with 60-point margins; URLs become links."""
    story = pymupdf.Story(html=markdown_to_html(source.read_text(encoding="utf-8")), user_css=CSS)
    page = pymupdf.paper_rect("a4")
    body = pymupdf.Rect(60, 60, page.width - 60, page.height - 60)

    def rectfn(rect_num: int, filled: pymupdf.Rect) -> tuple[pymupdf.Rect, pymupdf.Rect, None]:
        return page, body, None

    document = story.write_with_links(rectfn)
    document.set_metadata({"title": source.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()})
    document.save(target, garbage=3, deflate=True)


if __name__ == "__main__":
    folders = [Path(a) for a in sys.argv[1:]] or sorted(p.parent for p in (ROOT / "problems").glob("*/paper.md"))
    for folder in folders:
        build(folder / "paper.md", folder / "paper.pdf")
        print(f"built {folder / 'paper.pdf'}")
