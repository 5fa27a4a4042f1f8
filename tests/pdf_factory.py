"""PDFs built with PyMuPDF for tests: a clean paper, messy variants, and broken files."""

from __future__ import annotations

from pathlib import Path

import pymupdf

BODY = ("We study small tabular models and show that feature scaling and ensembles close most of the gap to "
        "larger models. Code is at https://github.com/example-org/tabular-study. ")


def write_paper(path: Path, *, title_lines: tuple[str, ...] = ("Scaling Small Tabular Models",),
                running_header: str | None = None, pages: int = 2, annotation_url: str | None =
                "https://gitlab.com/example-org/extra-code", review_copy: bool = False) -> Path:
    """A paper with title, authors, abstract, numbered sections, references, and links in text and annotations.
    `review_copy` adds what a submission under review has: line numbers beside the text, an affiliation line with
    marked authors, and a footnote at the foot of page 1."""
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page()
        y = 40.0
        if running_header:
            page.insert_text((72, 30), f"{running_header} {number + 1}", fontsize=8)
        if number == 0:
            y = 80.0
            for line in title_lines:
                page.insert_text((72, y), line, fontsize=18, fontname="hebo")
                y += 24
            if review_copy:
                page.insert_text((72, y), "Ada Lovelace", fontsize=11, fontname="hebo")
                page.insert_text((143, y - 4), "1", fontsize=7, fontname="hebo")
                page.insert_text((152, y), ", Alan Turing", fontsize=11, fontname="hebo")
                page.insert_text((222, y - 4), "2", fontsize=7, fontname="hebo")
                page.insert_text((231, y), "and Grace Hopper", fontsize=11, fontname="hebo")
                y += 14
                page.insert_text((72, y - 3), "1", fontsize=6)
                page.insert_text((76, y), "University of Cambridge,", fontsize=10)
                page.insert_text((190, y - 3), "2", fontsize=6)
                page.insert_text((194, y), "Analytical Engines Ltd", fontsize=10)
                for n in range(40):
                    page.insert_text((40, 90 + 16 * n), str(n + 1), fontsize=8)
                page.insert_text((72, 737), "1", fontsize=5)
                page.insert_text((76, 740), "Work done while visiting the Difference Engine Lab.", fontsize=8)
            else:
                page.insert_text((72, y), "Ada Lovelace, Alan Turing and Grace Hopper", fontsize=11)
            y += 30
            page.insert_text((72, y), "Abstract", fontsize=11, fontname="hebo")
            y += 16
            page.insert_text((72, y), "We show that simple changes improve small models.", fontsize=10)
            y += 30
            page.insert_text((72, y), "1 Introduction", fontsize=12, fontname="hebo")
            y += 16
            page.insert_textbox(pymupdf.Rect(72, y, 520, y + 80), BODY, fontsize=10)
            if annotation_url:
                page.insert_link({"kind": pymupdf.LINK_URI, "from": pymupdf.Rect(72, y, 200, y + 12),
                                  "uri": annotation_url})
            y += 90
            page.insert_text((72, y), "2 Method", fontsize=12, fontname="hebo")
            y += 16
            page.insert_textbox(pymupdf.Rect(72, y, 520, y + 80), "We scale features and average trees. " * 3,
                                fontsize=10)
        else:
            page.insert_text((72, 80), "3 Experiments", fontsize=12, fontname="hebo")
            page.insert_textbox(pymupdf.Rect(72, 96, 520, 180), "Accuracy rises from 0.80 to 0.90. " * 3,
                                fontsize=10)
            if number == pages - 1:
                page.insert_text((72, 220), "References", fontsize=12, fontname="hebo")
                refs = ["[1] A. Smith. Deep networks for tabular data. arXiv:2101.12345, 2021.",
                        "[2] B. Jones and C. Wu. Gradient boosting revisited. J. ML Res., doi:10.1145/3292500.3330701,",
                        "2019.",
                        "[3] D. Kim. \"Why trees still win on tables\". In NeurIPS, 2022."]
                for i, ref in enumerate(refs):
                    page.insert_text((72, 240 + 14 * i), ref, fontsize=9)
    doc.save(path)
    return path


def write_encrypted(path: Path) -> Path:
    """A password-protected PDF."""
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret", fontsize=12)
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="user")
    return path


def write_scanned(path: Path) -> Path:
    """A PDF whose only content is an image (no text layer)."""
    doc = pymupdf.open()
    page = doc.new_page()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 64), False)
    pix.clear_with(200)
    page.insert_image(pymupdf.Rect(72, 72, 300, 300), pixmap=pix)
    doc.save(path)
    return path


def write_hello(path: Path) -> Path:
    """A one-page PDF that says "hello": a readable PDF that is not a paper."""
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "hello", fontsize=12)
    doc.save(path)
    return path
