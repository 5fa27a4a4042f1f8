"""Paper ingestion from generated PDFs (clean and messy), Markdown, and bad inputs."""

from __future__ import annotations

import pytest

from copilot.errors import UserError
from copilot.paper import load_paper
from copilot.paper.source import arxiv_id_of
from tests.pdf_factory import write_encrypted, write_hello, write_paper, write_scanned


def test_a_clean_paper(tmp_path):
    paper = load_paper(str(write_paper(tmp_path / "p.pdf")))
    assert paper.title == "Scaling Small Tabular Models"
    assert paper.authors[:3] == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert paper.abstract == "We show that simple changes improve small models."
    assert [s.heading for s in paper.sections][:4] == ["Abstract", "Introduction", "Method", "Experiments"]
    assert paper.page_count == 2
    assert paper.links == ["https://gitlab.com/example-org/extra-code", "https://github.com/example-org/tabular-study"]
    refs = paper.references
    assert len(refs) == 3
    assert (refs[0].arxiv_id, refs[0].year, refs[0].title) == ("2101.12345", 2021, "Deep networks for tabular data")
    assert refs[1].doi == "10.1145/3292500.3330701" and refs[1].year == 2019
    assert refs[2].title == "Why trees still win on tables"


def test_a_running_header_and_a_two_line_title(tmp_path):
    path = write_paper(tmp_path / "messy.pdf", title_lines=("Scaling Small Tabular Models:", "A Second Look"),
                       running_header="Preprint under review. Page", pages=3)
    paper = load_paper(str(path))
    assert paper.title == "Scaling Small Tabular Models: A Second Look"
    assert all("Preprint" not in s.text for s in paper.sections)


def test_a_review_copy_keeps_line_numbers_footnotes_and_affiliations_out_of_the_text(tmp_path):
    paper = load_paper(str(write_paper(tmp_path / "review.pdf", review_copy=True)))
    assert paper.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert paper.affiliations == ["University of Cambridge", "Analytical Engines Ltd"]
    assert [s.heading for s in paper.top_sections()] == ["Introduction", "Method", "Experiments"]
    body = " ".join(s.text for s in paper.sections)
    assert "Difference Engine" not in body and not any(f" {n} " in f" {body} " for n in ("17", "23", "39"))
    assert paper.abstract == "We show that simple changes improve small models."


def test_long_papers_are_capped_with_a_warning(tmp_path):
    paper = load_paper(str(write_paper(tmp_path / "long.pdf", pages=6)), max_pages=2)
    assert paper.page_count == 6 and "only the first 2 were read" in paper.warnings[0]


def test_markdown_papers(tmp_path):
    path = tmp_path / "paper.md"
    path.write_text("# A Markdown Paper\nJane Doe, John Roe\n\n## Abstract\nShort abstract.\n\n## 1 Method\n"
                    "See https://github.com/a/b.\n\n## References\n[1] X. Y. A title here. arXiv:2301.00001, 2023.\n")
    paper = load_paper(str(path))
    assert paper.title == "A Markdown Paper" and paper.authors == ["Jane Doe", "John Roe"]
    assert paper.abstract == "Short abstract." and [s.heading for s in paper.sections] == ["Abstract", "Method"]
    assert paper.links == ["https://github.com/a/b"] and paper.references[0].arxiv_id == "2301.00001"


def test_the_method_text_is_the_method_sections_verbatim(tmp_path):
    path = tmp_path / "paper.md"
    path.write_text("# P\n\n## Abstract\nA.\n\n## 2 Related Work\nOther methods [1].\n\n## 3 Proposed Approach\n"
                    "OLS on log(sales) with six day-of-week indicators.\n\n## 3.1 Model Architecture\nTwo layers.\n\n"
                    "## 4 Experiments\nRMSE 18.2.\n\n## 5 Background\nMethods before ours.\n")
    paper = load_paper(str(path))
    assert paper.method_text() == ("## Proposed Approach\nOLS on log(sales) with six day-of-week indicators.\n\n"
                                   "## Model Architecture\nTwo layers.")
    cut = paper.method_text(max_chars=40)
    assert cut.startswith("## Proposed Approach\nOLS on") and cut.endswith("characters not shown]")
    assert load_paper(str(write_paper(tmp_path / "p.pdf"))).method_text().startswith(
        "## Method\nWe scale features and average trees.")
    no_method = tmp_path / "plain.md"
    no_method.write_text("# Q\n\n## Introduction\nWhy.\n\n## Results\nNumbers.\n")
    assert load_paper(str(no_method)).method_text() == ""


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p: p.write_bytes(b""), "the file is empty"),
    (lambda p: p.write_bytes(b"<html>not a pdf</html>"), "not a PDF"),
    (lambda p: p.write_bytes(write_paper(p.with_suffix(".tmp.pdf")).read_bytes()[:400]), "corrupt PDF"),
    (write_encrypted, "encrypted"),
])
def test_bad_pdfs_give_one_line_naming_the_file_and_the_reason(tmp_path, make, reason):
    path = tmp_path / "bad.pdf"
    make(path)
    with pytest.raises(UserError, match=reason) as info:
        load_paper(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_files_and_arxiv_specs(tmp_path):
    with pytest.raises(UserError, match="no such file, and not an arXiv id"):
        load_paper(str(tmp_path / "nope.pdf"))
    assert arxiv_id_of("arxiv:2401.01234") == "2401.01234"
    assert arxiv_id_of("https://arxiv.org/abs/2401.01234v2") == "2401.01234v2"
    assert arxiv_id_of("2401.01234") == "2401.01234"
    assert arxiv_id_of("paper.pdf") is None


def test_a_generated_paper_is_a_readable_paper(tmp_path):
    paper = load_paper(str(write_paper(tmp_path / "p.pdf")))
    assert paper.verdict.is_paper and paper.verdict.unread == [] and paper.notices() == []


def test_a_scan_is_read_as_far_as_it_goes_with_a_verdict(tmp_path, caplog):
    """No text layer: not refused (the run goes on with the problem text), but marked as unread, and logged."""
    paper = load_paper(str(write_scanned(tmp_path / "scan.pdf")))
    assert not paper.verdict.is_paper and "no text could be read" in paper.verdict.reasons
    assert any("no text layer" in line and "OCR" in line for line in paper.verdict.unread)
    assert paper.notices()[0].startswith(f"{tmp_path / 'scan.pdf'} does not look like a research paper")
    assert "no text layer" in caplog.text


def test_a_hello_pdf_does_not_look_like_a_paper(tmp_path):
    paper = load_paper(str(write_hello(tmp_path / "hello.pdf")))
    assert not paper.verdict.is_paper
    assert "only 1 word of text on 1 page" in paper.verdict.reasons
    assert "no abstract and no section headings" in paper.verdict.reasons


def test_a_truncated_pdf_is_read_as_far_as_it_goes(tmp_path):
    """A paper cut off mid-file (an interrupted download): MuPDF repairs what it can; the verdict says so."""
    whole = write_paper(tmp_path / "whole.pdf", pages=4).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: int(len(whole) * 0.7)])
    paper = load_paper(str(cut))
    assert paper.title == "Scaling Small Tabular Models"
    assert any("damaged or truncated" in line for line in paper.verdict.unread)
    assert any("damaged or truncated" in line for line in paper.notices())
