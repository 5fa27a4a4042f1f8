"""The run page (`copilot view`, `copilot/view`): rendered from a real run directory made by the pipeline with the
rule-based test LLM (tests/fixtures/rule_backend.py, canned replies), and from hand-made records with distinctive
numbers, so that a number on the page that is not in the records fails a test. The browser tests drive Debian's
headless chromium through selenium and chromium-driver (skipped, with the reason, where they are not installed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from copilot.execution.attempt import Attempt, Measurement
from copilot.execution.report import RunSummary, load_attempts, summarize
from copilot.execution.verify import ClaimCheck, Reexecution
from copilot.idea.models import ExperimentPlan
from copilot.paper.model import Paper
from copilot.records import ChosenHypothesis
from copilot.rundir import write_json_atomic
from copilot.sandbox.base import RunResult
from copilot.task import MetricSpec
from copilot.tracking.base import RunInfo
from copilot.view import PageObserver, load_run_view, render_run_page, write_run_page
from tests.test_pipeline import rules_run

RECORDS = ("run.json", "idea/paper.json", "idea/chosen.json", "idea/hypotheses.json", "idea/plan.json",
           "verify/reexecution.json", "summary.json")

# A number as the page shows it: digits with an optional decimal part (or thousands separators), not glued to a
# word (attempt ids such as a001, file names, hex) and not a hyphenated part of a name (pytest-3).
SHOWN_NUMBER = re.compile(r"(?<![\w.])(?<![\w.]-)(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])")


# -- the checker: every number shown must be a recorded value --------------------------------------------------------
class _Text(HTMLParser):
    """The text a reader sees: every text node outside <script> and <style>, and every title attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts += [value for name, value in attrs if name == "title" and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def recorded_forms(run: Path) -> set[str]:
    """Every way the page may write a recorded number: each numeric value of the records rounded to any precision
    (with or without thousands separators), the relative improvement also as a percentage, and every number that
    appears inside recorded text (instructions, diffs, errors, timestamps, the run directory's own path)."""
    forms: set[str] = set()

    def text_numbers(text: str) -> None:
        for pattern in (r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", r"\d+\.\d+", r"\d+"):  # "21.622" gives 21.622, 21 and 622
            forms.update(re.findall(pattern, text))

    def value_forms(value: float) -> None:
        v = abs(value)
        forms.update(f"{v:.{k}g}" for k in range(1, 10))
        forms.update(f"{v:.{k}f}" for k in range(7))
        forms.update(f"{v:,.{k}f}" for k in range(7))
        if float(v).is_integer():
            forms.update({str(int(v)), f"{int(v):,}"})

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, bool) or node is None:
            return
        if isinstance(node, int | float):
            value_forms(node)
            if key == "improvement_rel":
                forms.add(f"{abs(100 * node):.1f}")
        elif isinstance(node, str):
            text_numbers(node)
        elif isinstance(node, dict):
            for k, child in node.items():
                walk(child, str(k))
        elif isinstance(node, list):
            for child in node:
                walk(child, key)

    paths = [run / r for r in RECORDS] + sorted((run / "attempts").glob("*/attempt.json"))
    for path in paths:
        if path.is_file():
            walk(json.loads(path.read_text(encoding="utf-8")))
    text_numbers(str(run.resolve()))
    return forms


def unrecorded_numbers(text: str, run: Path) -> list[str]:
    """The numbers in `text` that are not a recorded value of the run (empty: the page is honest)."""
    allowed = recorded_forms(run)
    return [n for n in SHOWN_NUMBER.findall(text) if n not in allowed]


# -- runs -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """A whole run of tabular-digits with the rule-based test LLM (canned replies): the baseline, a draft whose
    script fails, its fix that fails too, and an improvement that works, then verification and the report."""
    tmp = tmp_path_factory.mktemp("view")
    run = tmp / "run"
    done = rules_run(tmp, run, "idea.num_hypotheses=1", "execution.max_attempts=3", backend="PartsBackend")
    assert done.returncode == 0, done.stderr[-3000:]
    return run


def distinctive_run(root: Path) -> Path:
    """Hand-made records whose numbers appear nowhere else (a five-attempt tree with a branch, a failed draft whose
    error carries markup, a verification that reproduced, a flagged claim)."""
    spec = MetricSpec(name="macro_f1", direction="maximize")

    def result(seconds: float, out: str = "", err: str = "", code: int = 0) -> RunResult:
        return RunResult(command="python train.py", exit_code=code, duration_s=seconds, stdout_tail=out,
                         stderr_tail=err, peak_memory_mb=317.25)

    def measured(value: float) -> Measurement:
        return Measurement(metric="macro_f1", value=value, source="results.json")

    attempts = [
        Attempt(id="a000", kind="baseline", command="python train.py", status="ok", measurement=measured(0.613527),
                run=result(38.61), duration_s=41.27, started_at="2031-04-17T09:13:52.118+00:00"),
        Attempt(id="a001", parent="a000", kind="draft", hypothesis="Frozen encoder with a linear probe",
                command="python train.py", status="failed", run=result(7.33, err="Traceback ...", code=1),
                error="experiment ended: finished, exit code 1\n<script>alert('x')</script> KeyError: 'label'",
                code_diff="--- a/train.py\n+++ b/train.py\n@@ -4,3 +4,3 @@\n-clf = Tree(depth=4)\n"
                          "+clf = Probe(<img src=x onerror=alert(1)>)\n", duration_s=9.81, prompt_tokens=70213,
                completion_tokens=3318, cost_usd=0.2081, started_at="2031-04-17T09:15:03.004+00:00"),
        Attempt(id="a002", parent="a001", kind="debug", hypothesis="Frozen encoder with a linear probe",
                command="python train.py", status="ok", measurement=measured(0.847391), run=result(52.47),
                code_diff="--- a/train.py\n+++ b/train.py\n@@ -4,3 +4,3 @@\n+clf = Probe(dim=384)\n",
                duration_s=57.09, prompt_tokens=31377, completion_tokens=1502, cost_usd=0.1143,
                claimed_metric=0.9123, started_at="2031-04-17T09:21:40.551+00:00"),
        Attempt(id="a003", parent="a002", kind="improve", hypothesis="Class-balanced loss",
                command="python train.py", status="ok", measurement=measured(0.802519), run=result(61.94),
                duration_s=66.58, prompt_tokens=14029, completion_tokens=811, cost_usd=0.0569,
                started_at="2031-04-17T09:31:12.930+00:00"),
        Attempt(id="a004", parent="a002", kind="improve", hypothesis="Tuned regularisation C=17",
                command="python train.py", status="invalid",
                error="the experiment changed read-only files: evaluate.py",
                duration_s=12.46, prompt_tokens=7838, completion_tokens=377, cost_usd=0.0380,
                started_at="2031-04-17T09:40:27.775+00:00"),
    ]
    for attempt in attempts:
        write_json_atomic(root / "attempts" / attempt.id / "attempt.json", attempt)
    reexecution = Reexecution(attempt_id="a002", recorded=0.847391, reproduced=0.846102, ok=True, tolerance=0.03,
                              note="reproduced")
    checks = [ClaimCheck(attempt_id="a002", claimed=0.9123, recorded=0.847391, ok=False,
                         note="differs from the measurement (0.847391)")]
    summary = summarize(attempts, spec, task="intent-triage", llm="local", prompt_tokens=123457,
                        completion_tokens=9876, cached_prompt_tokens=45678, cost_usd=0.4173, wall_time_s=905.62,
                        claim_checks=checks, reexecution=reexecution)
    write_json_atomic(root / "summary.json", summary)
    write_json_atomic(root / "verify" / "reexecution.json", reexecution)
    write_json_atomic(root / "run.json", {"task": "intent-triage", "llm": "local", "model": "qwen-coder",
                                          "stages": ["idea", "experiment", "execution"], "config": {"seed": 7}})
    write_json_atomic(root / "idea" / "paper.json", Paper(title="Sentence Encoders for Support Triage",
                                                          authors=["A. Author"], abstract="We probe encoders."))
    write_json_atomic(root / "idea" / "chosen.json", ChosenHypothesis(
        title="Frozen encoder with a linear probe", problem="TF-IDF misses paraphrases.", rationale="Encoders do not.",
        method="Encode with MiniLM, fit logistic regression.", supporting_result="Higher macro-F1.",
        refuting_result="No gain.", rank=0))
    write_json_atomic(root / "idea" / "plan.json", ExperimentPlan(
        hypothesis_title="Frozen encoder with a linear probe", datasets=["data/train.csv"], baselines=["tf-idf"],
        metric="macro_f1", metric_direction="maximize", steps=["Encode.", "Fit the probe."],
        expected_outcome="Better.", compute_budget="minutes", workspace_files=["train.py"]))
    return root


# -- tests without a browser -----------------------------------------------------------------------------------
def test_every_number_on_the_page_is_a_recorded_value(tmp_path):
    run = distinctive_run(tmp_path / "run")
    html = write_run_page(run).read_text(encoding="utf-8")
    text = page_text(html)
    assert unrecorded_numbers(text, run) == []
    # The checker itself catches a number that is not recorded, and one recorded value off in its last digit.
    assert unrecorded_numbers(text + " best 0.558813", run) == ["0.558813"]
    assert unrecorded_numbers("0.847392", run) == ["0.847392"]
    # The headline numbers are the records' values in their places.
    summary = RunSummary.model_validate_json((run / "summary.json").read_text())
    assert re.search(r'Baseline</div>\s*<div class="value">0\.613527<', html)
    assert re.search(r'Best</div>\s*<div class="value"><a href="#a002" data-attempt="a002">0\.847391</a>', html)
    assert summary.improvement_abs is not None and summary.improvement_rel is not None
    assert f"{summary.improvement_abs:+.6g}" in text and f"{100 * summary.improvement_rel:+.1f}% relative" in text
    assert "123,457" in text and "45,678 cached" in text and "9,876 completion" in text
    assert "$0.4173" in text and "905.6 s" in text
    assert "reproduced <b>0.846102</b>" in html and "relative tolerance 0.03" in text
    # Per attempt: metric, duration, tokens, cost; the failed and invalid attempts say so, with their errors.
    for attempt in load_attempts(run):
        card = html.split(f'data-card="{attempt.id}"', 1)[1].split("</article>", 1)[0]
        assert f"{attempt.duration_s:,.1f} s" in card and f"{attempt.prompt_tokens:,} prompt" in card
        assert f"${attempt.cost_usd:.4f}" in card
        assert (f"<b>{attempt.metric:.6g}</b>" in card) if attempt.metric is not None else ("none measured" in card)
    assert "0.9123" in html.split('data-card="a002"', 1)[1].split("</article>", 1)[0]  # the claim, marked as a claim
    assert "FLAG" in text and "differs from the measurement" in text


def test_the_tree_has_one_node_per_attempt_under_its_parent(tmp_path):
    run = distinctive_run(tmp_path / "run")
    html = write_run_page(run).read_text(encoding="utf-8")
    nodes = re.findall(r'<a class="node st-(\w+)[^"]*" href="#(a\d+)"', html)
    assert [(node_id, status) for status, node_id in nodes] == [
        ("a000", "ok"), ("a001", "failed"), ("a002", "ok"), ("a003", "ok"), ("a004", "invalid")]
    tree = html.split('<nav class="tree"', 1)[1].split("</nav>", 1)[0]
    # a003 and a004 are both children of a002: siblings in one list nested under a002's item.
    under_a002 = tree.split('href="#a002"', 1)[1]
    assert re.search(r'<ul>\s*<li>\s*<a class="node[^"]*" href="#a003".*</li>\s*<li>\s*<a class="node[^"]*" '
                     r'href="#a004"', under_a002, re.S)
    assert tree.count("<ul>") == 4  # the root list, and one under each of a000, a001, a002


def test_untrusted_attempt_text_is_escaped(tmp_path):
    run = distinctive_run(tmp_path / "run")
    html = write_run_page(run).read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.count("<script>") == 1  # the page's own script only


def test_a_run_in_stage_one_or_with_unreadable_records_renders_what_exists(tmp_path):
    run = tmp_path / "run"
    write_json_atomic(run / "run.json", {"task": "forecast-sales", "llm": "tiny", "config": {}})
    text = page_text(write_run_page(run, live=True).read_text(encoding="utf-8"))
    assert "forecast-sales" in text and "not yet: the paper has not been read" in text
    assert "not yet: no attempt recorded" in text and "running · this page reloads itself" in text
    assert unrecorded_numbers(text, run) == []
    # A failed run: the baseline failed, nothing else; one record of an older schema is named, the rest shown.
    write_json_atomic(run / "attempts" / "a000" / "attempt.json", Attempt(
        id="a000", kind="baseline", status="failed", error="experiment ended: timeout, exit code None",
        duration_s=120.0))
    write_json_atomic(run / "idea" / "plan.json", {"hypothesis_title": "x"})
    html = write_run_page(run).read_text(encoding="utf-8")
    text = page_text(html)
    assert "idea/plan.json:" in text and "could not be read" in text
    assert "the starter code measured nothing" in text and "experiment ended: timeout" in text
    assert 'data-live="false"' in html and "not finished" in text
    assert unrecorded_numbers(text, run) == []
    # Nothing at all but the folder: still a page.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not yet" in page_text(render_run_page(load_run_view(empty), live=False))


@pytest.mark.slow
def test_the_page_of_a_real_run_shows_each_attempt_and_only_recorded_numbers(real_run):
    attempts = load_attempts(real_run)
    html = write_run_page(real_run).read_text(encoding="utf-8")
    text = page_text(html)
    assert unrecorded_numbers(text, real_run) == []
    assert re.findall(r'<a class="node [^"]*" href="#(a\d+)"', html) == [a.id for a in attempts]
    summary = RunSummary.model_validate_json((real_run / "summary.json").read_text())
    assert f"{summary.best:.6g}" in text and f"{summary.baseline:.6g}" in text and "reproduced" in text
    failed = next(a for a in attempts if a.status == "failed")
    assert failed.error and failed.error.splitlines()[0] in text
    paper = json.loads((real_run / "idea" / "paper.json").read_text())
    assert paper["title"] in text
    assert json.loads((real_run / "idea" / "chosen.json").read_text())["title"] in text
    for attempt in attempts:
        if attempt.code_diff:
            first_change = next(line for line in attempt.code_diff.splitlines() if line.startswith("+") and
                                not line.startswith("+++"))
            assert first_change in text
    assert html.count("<polyline") == 1 and html.count('class="pt') == sum(a.metric is not None for a in attempts)


@pytest.mark.slow
def test_the_page_observer_follows_a_run_and_stops_reloading_at_its_end(real_run, tmp_path, caplog):
    run = tmp_path / "run"
    shutil.copytree(real_run, run, ignore=shutil.ignore_patterns("run.html", "workspace", "snapshot"))
    attempts = load_attempts(run)
    later = run / "later"
    later.mkdir()
    for attempt in attempts[1:]:
        shutil.move(run / "attempts" / attempt.id, later / attempt.id)
    summary = run / "summary.json"
    summary.rename(run / "later" / "summary.json")
    observer = PageObserver()
    observer.run_started(run, RunInfo.model_validate_json((run / "run.json").read_text()))
    page = run / "run.html"
    assert 'data-live="true"' in page.read_text() and page.read_text().count('class="node ') == 1
    for n, attempt in enumerate(attempts[1:], start=2):
        shutil.move(later / attempt.id, run / "attempts" / attempt.id)
        observer.attempt_recorded(run, attempt)
        assert page.read_text().count('class="node ') == n and 'data-live="true"' in page.read_text()
    (later / "summary.json").rename(summary)
    observer.run_finished(run, RunSummary.model_validate_json(summary.read_text()))
    assert 'data-live="false"' in page.read_text() and "finished · success" in page.read_text()
    # A page that cannot be written is one warning, and the run goes on.
    gone = tmp_path / "no-such-run"
    broken = PageObserver()
    with caplog.at_level("WARNING", logger="copilot.view"):
        broken.run_started(gone, RunInfo(task="t", llm="l"))
        broken.attempt_recorded(gone, attempts[0])
    warnings = [r.getMessage() for r in caplog.records if r.name == "copilot.view"]
    assert len(warnings) == 1 and warnings[0].startswith(f"run page: cannot write {gone / 'run.html'} (")
    assert warnings[0].endswith("; the run goes on without it")


def copilot_view(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run([sys.executable, "-m", "copilot", "view", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_copilot_view_writes_the_page_and_prints_its_path_and_a_bad_path_is_one_line(tmp_path):
    run = distinctive_run(tmp_path / "run")
    done = copilot_view(str(run), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str((run / "run.html").resolve()) and (run / "run.html").is_file()
    for bad, reason in ((tmp_path / "missing", "no such directory"), (tmp_path, "not a run directory")):
        failed = copilot_view(str(bad), cwd=tmp_path)
        assert failed.returncode == 2 and failed.stdout == "" and len(failed.stderr.splitlines()) == 1
        assert failed.stderr.startswith(f"copilot: error: copilot view {bad}: {reason}")


@pytest.mark.slow
def test_a_sweep_gets_an_index_page_linking_each_job_with_the_sweep_table(real_run, tmp_path):
    sweep = tmp_path / "sweep"
    for n, seed in enumerate((0, 1)):
        job = sweep / f"{n}_tabular-digits_rules_s{seed}"
        shutil.copytree(real_run, job, ignore=shutil.ignore_patterns("run.html", "workspace", "snapshot"))
        (job / ".hydra" / "overrides.yaml").write_text(f"- task=tabular-digits\n- seed={seed}\n")
    failed = sweep / "2_tabular-digits_rules_s2"
    (failed / ".hydra").mkdir(parents=True)
    (failed / ".hydra" / "overrides.yaml").write_text("- task=tabular-digits\n- seed=2\n")
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    done = copilot_view(str(sweep), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    index = sweep / "index.html"
    assert done.stdout.strip() == str(index.resolve())
    html = index.read_text(encoding="utf-8")
    summary = json.loads((real_run / "summary.json").read_text())
    for seed in (0, 1):
        job = f"{seed}_tabular-digits_rules_s{seed}"
        assert f'<a href="{job}/run.html">{job}</a>' in html and (sweep / job / "run.html").is_file()
    assert "2_tabular-digits_rules_s2</td>" in html and "failed (see the job" in html
    text = page_text(html)
    assert text.count(f"{summary['best']:.6g}") == 2 and text.count(f"{summary['baseline']:.6g}") == 2
    assert (sweep / "sweep_summary.md").is_file() and (sweep / "sweep_summary.csv").is_file()


# -- in a real browser -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, through chromium-driver and selenium; the browser's console log is kept."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium "
                    "chromium-driver; .ci/run does it)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the dev extra)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="copilot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]


def full_page_screenshot(driver, path: Path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height), 6000))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    if os.environ.get("COPILOT_SCREENSHOT_DIR"):
        target = Path(os.environ["COPILOT_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / path.name)
    driver.set_window_size(1400, 1000)


@pytest.mark.slow
def test_in_chromium_the_page_loads_without_console_errors_with_one_tree_node_per_attempt(browser, real_run,
                                                                                          tmp_path):
    from selenium.webdriver.common.by import By

    page = write_run_page(real_run)
    browser.get(page.resolve().as_uri())
    assert console_errors(browser) == []
    attempts = load_attempts(real_run)
    nodes = browser.find_elements(By.CSS_SELECTOR, ".tree .node")
    assert [n.get_attribute("data-attempt") for n in nodes] == [a.id for a in attempts]
    text = browser.execute_script("return document.body.innerText")
    assert unrecorded_numbers(text, real_run) == []
    # One attempt's card at a time: the best first; a click on another node shows that one instead.
    best = json.loads((real_run / "summary.json").read_text())["best_attempt"]
    shown = [c.get_attribute("data-card") for c in browser.find_elements(By.CSS_SELECTOR, "[data-card]")
             if c.is_displayed()]
    assert shown == [best]
    failed = next(a for a in attempts if a.status == "failed")
    browser.find_element(By.CSS_SELECTOR, f'.tree .node[data-attempt="{failed.id}"]').click()
    card = browser.find_element(By.CSS_SELECTOR, f'[data-card="{failed.id}"]')
    assert card.is_displayed() and browser.execute_script("return location.hash") == f"#{failed.id}"
    assert failed.error and failed.error.splitlines()[0] in card.text
    assert console_errors(browser) == []
    full_page_screenshot(browser, tmp_path / "run_page.png")
    assert (tmp_path / "run_page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_in_chromium_a_running_runs_page_reloads_itself_and_keeps_the_selection(browser, tmp_path, monkeypatch):
    import copilot.view.page as page_module

    run = distinctive_run(tmp_path / "run")
    (run / "summary.json").unlink()  # the run is not finished yet
    monkeypatch.setattr(page_module, "RELOAD_S", 1)
    html = render_run_page(load_run_view(run), live=True)
    assert 'data-reload-s="1"' in html
    (run / "run.html").write_text(html, encoding="utf-8")
    browser.get((run / "run.html").resolve().as_uri() + "#a003")
    browser.execute_script("window.__before_reload = true")
    deadline = time.monotonic() + 20
    while browser.execute_script("return window.__before_reload === true") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not browser.execute_script("return window.__before_reload === true"), "the page did not reload itself"
    assert browser.execute_script("return location.hash") == "#a003"
    assert browser.execute_script("return document.querySelector('[data-card=\"a003\"]').offsetParent !== null")
    assert console_errors(browser) == []
    full_page_screenshot(browser, tmp_path / "running_run_page.png")


def test_in_chromium_the_page_of_an_empty_run_and_a_sweep_index_load_without_errors(browser, tmp_path):
    run = tmp_path / "run"
    write_json_atomic(run / "run.json", {"task": "forecast-sales", "llm": "tiny", "config": {}})
    browser.get(write_run_page(run, live=False).resolve().as_uri())
    assert console_errors(browser) == [] and "not yet" in browser.execute_script("return document.body.innerText")
    from copilot.sweep import write_sweep_summary

    sweep = tmp_path / "sweep"
    job = sweep / "0_forecast-sales_tiny_s0"
    shutil.copytree(run, job)
    (job / ".hydra").mkdir()
    (job / ".hydra" / "overrides.yaml").write_text("- task=forecast-sales\n- llm=tiny\n- seed=0\n")
    write_sweep_summary(sweep)
    browser.get((sweep / "index.html").resolve().as_uri())
    assert console_errors(browser) == []
    assert "0_forecast-sales_tiny_s0" in browser.execute_script("return document.body.innerText")


def test_the_run_page_needs_no_network(tmp_path):
    """Self-contained: no external URL is loaded (stylesheets, scripts, images, fonts are inline or absent)."""
    html = write_run_page(distinctive_run(tmp_path / "run")).read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', html) and "@import" not in html and "url(" not in html
