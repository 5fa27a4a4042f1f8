"""Paper fields on real research PDFs: the share extracted exactly by copilot's parser, per PDF and in total, with time
per page, and the same fields from pymupdf4llm's Markdown run side by side. Prints markdown tables.

    .venv/bin/python benchmarks/bench_paper_fields.py [--corpus ../shared/papers] [--heldout tests/corpus]
                                                      [--no-baseline]   (pymupdf4llm: pip install '.[bench]')

A corpus is a folder with PDFs and a `truth.yaml` (hand-checked ground truth; format in ../shared/papers/README.md).
"Exact" is `copilot.paper.compare.field_matches` (the README's matching advice: NFKD, ligatures, quotes, whitespace,
hyphenation, case; nothing else forgiven). Seven fields: title, authors, abstract_start, sections, method,
references (count equal to the hand count), code_links (the paper's own GitHub/GitLab links as a set). The outline
size is printed apart: both parsers read it straight from PyMuPDF, so it is not scored.

pymupdf4llm has no notion of authors or of own versus other code links, so it is given what its Markdown allows:
title = the first text line (not also a section when it is set as a heading); abstract = the paragraph after an
"Abstract" line; sections = its `#` headings, numbers stripped, classified front/body/back/appendix by copilot's own
rules; method = copilot's method chooser over those sections; references = entries (markers or paragraphs) between
the References heading and the next heading; code_links = every GitHub/GitLab URL in the Markdown; authors = not
extracted (scored as missed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from copilot.paper.compare import FIELDS, field_matches
from copilot.paper.headings import REFERENCES, Heading, assign_kinds, split_number
from copilot.paper.links import code_links, urls_in
from copilot.paper.model import Paper, Reference, Section
from copilot.paper.pdf import parse_pdf
from copilot.paper.refs import split_entries

ROOT = Path(__file__).resolve().parent.parent
SHORT = {"title": "title", "authors": "auth", "abstract_start": "abs", "sections": "sect", "method": "meth",
         "references": "refs", "code_links": "code"}


def _plain(text: str) -> str:
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"[*_`#]+", "", text).strip()


def from_markdown(markdown: str, source: str) -> Paper:
    """A `Paper` holding what pymupdf4llm's Markdown gives (see the module docstring)."""
    lines = markdown.splitlines()
    title = next((_plain(line) for line in lines if _plain(line)), "")
    headings: list[tuple[int, int, str]] = []  # (line index, '#' count, text)
    for index, line in enumerate(lines):
        match = re.match(r"^(#{1,6})\s+(.*)$", line)
        if match and _plain(match.group(2)) and _plain(match.group(2)) != title:  # the title set as a heading
            headings.append((index, len(match.group(1)), _plain(match.group(2))))
    top = min((h[1] for h in headings), default=1)
    found: list[Heading] = []
    texts: list[str] = []
    for position, (index, hashes, text) in enumerate(headings):
        number, rest = split_number(text)
        level = number.count(".") + 1 if number else hashes - top + 1
        found.append(Heading(index, index, rest, number, level))
        stop = headings[position + 1][0] if position + 1 < len(headings) else len(lines)
        texts.append("\n".join(lines[index + 1 : stop]).strip())
    assign_kinds(found)
    sections = [Section(heading=h.title, text=_plain(t), level=h.level, number=h.number, kind=h.kind)
                for h, t in zip(found, texts, strict=True)]
    abstract = next((s.text for s in sections if s.kind == "front" and s.heading.lower().startswith("abstract")), "")
    if not abstract:  # a run-in "Abstract." paragraph, or an Abstract line that is not a heading
        for index, line in enumerate(lines):
            plain = _plain(line)
            if re.match(r"^abstract\b", plain, re.IGNORECASE):
                rest = re.sub(r"^abstract\s*[.:—–-]*\s*", "", plain, flags=re.IGNORECASE)
                following = next((_plain(n) for n in lines[index + 1 :] if _plain(n)), "")
                abstract = rest or following
                break
    references: list[Reference] = []
    for section in sections:
        if REFERENCES.match(section.heading):
            references = [Reference(raw=e) for e in split_entries(section.text)]
    urls = code_links(urls_in(markdown))
    return Paper(title=title, abstract=abstract, sections=[s for s in sections if not REFERENCES.match(s.heading)],
                 references=references, links=urls, code_links=urls, source=source)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Standard output (the file descriptor, which C code writes to as well) sent to /dev/null for a while."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def measure(corpus: Path, truth_file: Path, baseline: bool) -> list[dict[str, Any]]:
    """One row per PDF of `truth_file` (found in `corpus`): fields matched by each parser, seconds, pages, outline
    sizes."""
    truth = yaml.safe_load(truth_file.read_text(encoding="utf-8"))
    rows = []
    for name, expected in truth.items():
        path = corpus / name
        start = time.perf_counter()
        paper = parse_pdf(path)
        ours_s = time.perf_counter() - start
        row: dict[str, Any] = {"name": name, "pages": paper.page_count, "ours": field_matches(paper, expected),
                               "ours_s": ours_s, "outline": (len(paper.outline), expected["outline_entries"])}
        if baseline:
            import pymupdf4llm

            start = time.perf_counter()
            with _quiet():  # its layout parser prints a notice (no OCR engine installed) for every file
                markdown = pymupdf4llm.to_markdown(str(path), show_progress=False)
            row["theirs_s"] = time.perf_counter() - start
            row["theirs"] = field_matches(from_markdown(markdown, str(path)), expected)
        rows.append(row)
    return rows


def _share(matches: list[dict[str, bool]]) -> tuple[int, int]:
    return sum(sum(m.values()) for m in matches), sum(len(m) for m in matches)


def print_tables(title: str, rows: list[dict[str, Any]], baseline: bool) -> None:
    """The per-PDF table, the per-field totals and the total line."""
    print(f"\n### {title}\n")
    cols = " | ".join(SHORT[f] for f in FIELDS)
    head = f"| PDF | pages | {cols} | copilot exact | copilot ms/page |"
    if baseline:
        head += " pymupdf4llm exact | pymupdf4llm ms/page |"
    head += " outline (got/truth) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for row in rows:
        marks = " | ".join("✓" if row["ours"][f] else "✗" for f in FIELDS)
        good, total = _share([row["ours"]])
        line = (f"| {row['name']} | {row['pages']} | {marks} | {good}/{total} ({good / total:.0%}) | "
                f"{1000 * row['ours_s'] / row['pages']:.0f} |")
        if baseline:
            theirs, total = _share([row["theirs"]])
            line += f" {theirs}/{total} ({theirs / total:.0%}) | {1000 * row['theirs_s'] / row['pages']:.0f} |"
        print(line + f" {row['outline'][0]}/{row['outline'][1]} |")
    pages = sum(r["pages"] for r in rows)
    good, total = _share([r["ours"] for r in rows])
    line = (f"| **total** | {pages} | " + " | ".join(
        str(sum(r["ours"][f] for r in rows)) + f"/{len(rows)}" for f in FIELDS)
        + f" | **{good}/{total} ({good / total:.1%})** | {1000 * sum(r['ours_s'] for r in rows) / pages:.0f} |")
    if baseline:
        theirs, total = _share([r["theirs"] for r in rows])
        line += f" **{theirs}/{total} ({theirs / total:.1%})** | " \
                f"{1000 * sum(r['theirs_s'] for r in rows) / pages:.0f} |"
    print(line + " |")
    if baseline:
        print("\npymupdf4llm per field: " + ", ".join(
            f"{SHORT[f]} {sum(r['theirs'][f] for r in rows)}/{len(rows)}" for f in FIELDS))
    lowest = min(rows, key=lambda r: _share([r["ours"]])[0] / _share([r["ours"]])[1])
    low_good, low_total = _share([lowest["ours"]])
    print(f"\nlowest copilot PDF: {lowest['name']} {low_good}/{low_total} ({low_good / low_total:.0%}); "
          f"titles exact: {sum(r['ours']['title'] for r in rows)}/{len(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "papers")
    parser.add_argument("--heldout", type=Path, default=ROOT / "tests" / "corpus",
                        help="folder of the papers added after the parser was written (reported apart)")
    parser.add_argument("--heldout-truth", type=Path, default=ROOT / "tests" / "corpus" / "truth.yaml")
    parser.add_argument("--no-baseline", action="store_true", help="skip pymupdf4llm")
    args = parser.parse_args()
    baseline = not args.no_baseline
    if baseline:
        try:
            import pymupdf4llm  # noqa: F401
        except ImportError:
            sys.exit("pymupdf4llm is not installed: pip install '.[bench]', or run with --no-baseline")
    sets = (("Corpus", args.corpus, args.corpus / "truth.yaml"),
            ("Held-out (added after the parser was written)", args.heldout, args.heldout_truth))
    for title, folder, truth_file in sets:
        names = yaml.safe_load(truth_file.read_text(encoding="utf-8")) if truth_file.is_file() else {}
        if not names or not all((folder / name).is_file() for name in names):
            print(f"\n({title}: {folder} lacks {truth_file.name} or its PDFs; skipped)")
            continue
        print_tables(f"{title}: {folder}", measure(folder, truth_file, baseline), baseline)


if __name__ == "__main__":
    main()
