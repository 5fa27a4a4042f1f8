"""PDF ingestion speed: our layout-aware parser (copilot.paper) versus pypdf's plain text extraction, on generated
10-, 50- and 200-page papers. Prints a markdown table.

    .venv/bin/python benchmarks/bench_pdf.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pymupdf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from copilot.paper.pdf import parse_pdf

PARAGRAPH = ("We evaluate the method on standard benchmarks and report accuracy, calibration and cost. " * 6).strip()


def make_paper(path: Path, pages: int) -> Path:
    """A paper with a title, numbered sections on every page, and a reference list on the last page."""
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page()
        y = 72
        if number == 0:
            page.insert_text((72, y), "A Generated Paper for Benchmarking", fontsize=18, fontname="hebo")
            y += 30
        page.insert_text((72, y), f"{number + 1} Section {number + 1}", fontsize=12, fontname="hebo")
        page.insert_textbox(pymupdf.Rect(72, y + 10, 520, 760), (PARAGRAPH + "\n\n") * 6, fontsize=10)
    page.insert_text((72, 700), "References", fontsize=12, fontname="hebo")
    page.insert_text((72, 720), "[1] A. Author. A title. arXiv:2101.00001, 2021.", fontsize=9)
    doc.save(path)
    return path


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pypdf import PdfReader

    print("| pages | copilot s | copilot pages/s | pypdf s | pypdf pages/s | ratio (copilot/pypdf speed) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for pages in (10, 50, 200):
            path = make_paper(Path(tmp) / f"p{pages}.pdf", pages)
            ours = timed(lambda path=path, pages=pages: parse_pdf(path, max_pages=pages), args.repeat)
            theirs = timed(lambda path=path: [p.extract_text() for p in PdfReader(path).pages], args.repeat)
            print(f"| {pages} | {ours:.3f} | {pages / ours:.0f} | {theirs:.3f} | {pages / theirs:.0f} | "
                  f"{theirs / ours:.2f} |")


if __name__ == "__main__":
    main()
