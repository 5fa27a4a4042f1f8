"""Stage 1 under the problem's rules, its comparative review and its plan, with a scripted LLM (canned replies, not
model output): hypotheses that break a rule are rejected and listed, not ranked; every prompt shows the rules;
scores come from one comparative request, sent back once when they do not discriminate; plan steps are stored
without numbering; idea.md shows what the paper parser could not read."""

from __future__ import annotations

import json
import logging

from copilot.constraints import extract_constraints
from copilot.idea.chain import IdeaAgent, TaskFacts
from copilot.idea.clarity import plan_misses_method
from copilot.idea.material import paper_notices
from copilot.idea.models import ExperimentPlan, Hypothesis, PaperAnalysis
from copilot.idea.render import hypothesis_row, render_idea_md
from copilot.paper.model import Paper

CRITERIA = ("clarity", "validity", "novelty", "feasibility", "significance")
REVIEWED = CRITERIA[1:]
PROBLEM_RULES = extract_constraints("Make bilateral_filter faster, using only the numpy library. Never read the "
                                    "files in the reference folder directly.")
NOVEL = {"novel": True, "closest_work_ids": [], "explanation": "Not in the retrieved works."}
ANALYSIS = PaperAnalysis(research_tasks=["speed up a filter"], gaps=["Python loops"], keywords=["bilateral"])


def hypothesis(title: str, method: str) -> dict:
    return Hypothesis(title=title, problem="The loops are slow.", rationale="Vector operations run in C.",
                      method=method, supporting_result="Lower median time.", refuting_result="No faster.").model_dump()


def reviewed(*vectors: list[int]) -> list[dict]:
    """The review's replies, one per criterion; vectors[i] holds hypothesis i+1's scores for validity, novelty,
    feasibility and significance (clarity is measured, not asked)."""
    return [{"scores": [{"hypothesis": i, "reason": f"reason {c}", "score": v[k]} for i, v in enumerate(vectors, 1)]}
            for k, c in enumerate(REVIEWED)]


def facts(**extra) -> TaskFacts:
    return TaskFacts(workspace="- smooth.py (900 bytes)\n- run.py (600 bytes)", metric="seconds", direction="minimize",
                     run="python run.py", read_only=["evaluate.py"], packages=["numpy", "scipy", "torch"], **extra)


TORCH = hypothesis("Replace the current model with PyTorch's Conv2D layer", "Use torch.nn.Conv2d for the window sum.")
SCIPY = hypothesis("scipy generic filter", "Replace the loops with scipy.ndimage.generic_filter.")
PEEK = hypothesis("Cache the reference",
                  "Load reference/expected_a.npy with np.load() and return it when the input matches.")
VECTOR = hypothesis("Vectorise the window loops", "In smooth.py, compute the 49 shifted images with np.pad and "
                                                  "accumulate weights with numpy broadcasting instead of loops.")
LUT = hypothesis("Precompute spatial weights", "In bilateral_filter, build the 7x7 spatial kernel once with np.exp.")
STRIDED = hypothesis("Sliding windows", "Use numpy.lib.stride_tricks.sliding_window_view over the padded image.")


def test_hypotheses_that_break_a_rule_are_rejected_listed_and_asked_for_once_more(scripted, caplog):
    llm = scripted([{"hypotheses": [TORCH, VECTOR, PEEK]}, {"hypotheses": [LUT, SCIPY]},
                    NOVEL, NOVEL, *reviewed([4, 3, 5, 4], [4, 2, 5, 3])])
    agent = IdeaAgent(llm, facts(constraints=PROBLEM_RULES), num_hypotheses=3, has_paper=False)
    ranked = agent.propose("Research problem: ...", ANALYSIS, related=[], in_prompt=8)
    assert [r.hypothesis.title for r in ranked] == ["Vectorise the window loops", "Precompute spatial weights"]
    assert [(r.hypothesis.title, len(r.reasons)) for r in agent.rejected] == [
        ("Replace the current model with PyTorch's Conv2D layer", 1), ("Cache the reference", 1),
        ("scipy generic filter", 1)]
    assert agent.rejected[0].reasons[0].startswith("uses PyTorch, but the rule allows only numpy")
    assert "reads reference/expected_a.npy" in agent.rejected[1].reasons[0]
    asks = [" ".join(r.messages[-1].content.split()) for r in llm.backend.requests if r.schema_name == "HypothesisSet"]
    assert "Propose 3 distinct hypotheses" in asks[0] and "Propose 2 distinct hypotheses" in asks[1]
    assert "were rejected, each for the reason given" in asks[1]
    assert '"Replace the current model with PyTorch\'s Conv2D layer": uses PyTorch' in asks[1]
    assert "Start from what the research problem asks" in asks[0], "no paper: the prompt does not speak of one"
    assert "2 hypotheses broke a rule of the problem or repeated another; asking once more for 2" in caplog.text
    review = llm.backend.requests[-1]
    assert review.schema_name == "CriterionReviewOf2" and "Conv2D" not in review.messages[-1].content

    rows = [hypothesis_row(r) for r in ranked]
    assert all("Conv2D" not in row["title"] for row in rows)
    plan = ExperimentPlan(hypothesis_title=VECTOR["title"], datasets=[], baselines=["loops"], metric="seconds",
                          metric_direction="minimize", steps=["In smooth.py, vectorise."], expected_outcome="Faster.",
                          compute_budget="seconds", workspace_files=["smooth.py"])
    markdown = render_idea_md("Filter", None, ANALYSIS, [], ranked, ranked[0].hypothesis, plan,
                              rejected=agent.rejected, rules=[c.prompt_line() for c in PROBLEM_RULES])
    assert "## Rules of the problem" in markdown and "(code may import only numpy" in markdown
    assert "## Rejected (3): they break a rule of the problem or repeat another hypothesis" in markdown
    assert "- **Replace the current model with PyTorch's Conv2D layer**: uses PyTorch, but the rule" in markdown
    assert "data: (none)" in markdown


def test_fewer_hypotheses_than_asked_for_are_sent_back(scripted):
    llm = scripted([{"hypotheses": [VECTOR]}, {"hypotheses": [VECTOR, LUT]}])
    hypotheses = IdeaAgent(llm, facts(), num_hypotheses=2).hypothesize("material", ANALYSIS, related=[])
    assert [h.title for h in hypotheses] == [VECTOR["title"], LUT["title"]]
    assert "List should have at least 2 items" in llm.backend.requests[1].messages[-1].content


def test_every_prompt_of_the_chain_shows_the_rules(scripted):
    llm = scripted([ANALYSIS.model_dump(), {"hypotheses": [VECTOR, LUT]}, NOVEL, NOVEL,
                    *reviewed([4, 3, 5, 4], [4, 2, 5, 3]),
                    {"hypothesis_title": "x", "datasets": [], "baselines": [], "metric": "m", "metric_direction":
                     "minimize", "steps": ["In smooth.py, pad the image.", "Build the 7x7 kernel.",
                                             "Sum the 49 shifted images."],
                     "expected_outcome": "Faster.", "compute_budget": "seconds", "workspace_files": ["smooth.py"]}])
    agent = IdeaAgent(llm, facts(constraints=PROBLEM_RULES), num_hypotheses=2, has_paper=False)
    agent.analyse("Research problem: ...")
    ranked = agent.propose("Research problem: ...", ANALYSIS, related=[], in_prompt=8)
    agent.plan(ranked[0].hypothesis)
    rule = PROBLEM_RULES[0].prompt_line()
    for request in llm.backend.requests:
        assert rule in request.messages[0].content, f"system prompt of {request.schema_name}"
    for request in llm.backend.requests:
        if request.schema_name != "NoveltyJudgement":
            assert "Hard rules of the problem" in request.messages[-1].content, request.schema_name


def test_scores_come_from_one_request_per_criterion_in_the_numbers_order(scripted, caplog):
    """Scripted LLM: four replies, one per reviewed criterion, each giving every hypothesis a reason and a score."""
    caplog.set_level(logging.INFO, logger="copilot.idea")
    replies = reviewed([3, 3, 4, 2], [4, 3, 5, 4], [4, 4, 4, 3])
    for reply in replies:
        reply["scores"].reverse()  # given in another order, placed by the hypotheses' numbers
    llm = scripted([NOVEL, NOVEL, NOVEL, *replies])
    agent = IdeaAgent(llm, facts())
    ranked = agent.rank([Hypothesis(**VECTOR), Hypothesis(**LUT), Hypothesis(**STRIDED)], related=[])
    # clarity is measured: 4 for "In smooth.py ... np.pad ... 49 shifted images", 2 for the other two (no file)
    assert [(r.hypothesis.title, r.scores.clarity.score, r.total, r.review_number) for r in ranked] == [
        ("Precompute spatial weights", 2, 3.6, 2), ("Sliding windows", 2, 3.4, 3),
        ("Vectorise the window loops", 4, 3.2, 1)]
    assert ranked[0].scores.validity.justification == "reason validity"
    assert ranked[2].scores.clarity.justification == "measured: file smooth.py; code np.pad; settings 49"
    reviews = [r for r in llm.backend.requests if r.schema_name == "CriterionReviewOf3"]
    prompts = [r.messages[-1].content for r in reviews]
    assert [p.split("on one criterion only: ")[1].split(".")[0] for p in prompts] == list(REVIEWED)
    opening = prompts[0].split("Judge every hypothesis")[0]
    assert all(p.startswith(opening) for p in prompts), "the requests share their opening (the KV cache)"
    assert "Hypothesis 3: Sliding windows" in opening and "feasibility" not in opening
    assert "5 = a small change that runs within minutes" in prompts[2]
    assert "- hypothesis 2: novel" in prompts[1] and "novel" not in prompts[0].split("Judge every")[1]
    assert all("clarity" not in p for p in prompts), "clarity is measured, not asked for"
    assert "undecided" not in caplog.text


def test_a_review_that_leaves_hypotheses_undecided_says_so_and_ties_keep_the_order_proposed(scripted, caplog):
    caplog.set_level(logging.INFO, logger="copilot.idea")
    llm = scripted([NOVEL, NOVEL, *reviewed([4, 4, 4, 4], [4, 4, 4, 4])])
    ranked = IdeaAgent(llm, facts()).rank([Hypothesis(**LUT), Hypothesis(**STRIDED)], [])  # clarity 2 both
    assert [r.hypothesis.title for r in ranked] == ["Precompute spatial weights", "Sliding windows"]
    assert not llm.backend.script and len(llm.backend.requests) == 6, "two novelty checks, four criteria, no re-ask"
    assert "hypothesis 1 has 4 on validity, novelty, feasibility and significance" in caplog.text
    assert "hypotheses 1 and 2 have the same mean score (3.6)" in caplog.text


def test_a_reason_cut_off_at_its_limit_ends_at_a_whole_word():
    from copilot.idea.models import REASON_CHARS, HypothesisScore

    cut = ("The paper trains with a classification head implemented by a multilayer perceptron with one hidden "
           "layer at pre-training time and a linear one at fine-tuning, with the")[: REASON_CHARS - 1] + "\u5c42"
    reason = HypothesisScore(hypothesis=1, reason=cut, score=4).reason
    assert reason.endswith(" ...") and "\u5c42" not in reason and len(reason) <= REASON_CHARS + 4
    assert HypothesisScore(hypothesis=1, reason="Uses np.pad.", score=4).reason == "Uses np.pad."


def test_plan_steps_are_stored_unnumbered_and_numbered_once_in_idea_md(scripted):
    plan_reply = {"hypothesis_title": "x", "datasets": [], "baselines": ["nested loops"], "metric": "wrong",
                  "metric_direction": "maximize", "steps": ["1. 1. In smooth.py, pad the image with np.pad.",
                                                            "Step 2: In bilateral_filter, build the 7x7 kernel.",
                                                            "3) - Replace the four loops with broadcasting.", "4. "],
                  "expected_outcome": "Faster.", "compute_budget": "seconds", "workspace_files": ["smooth.py"]}
    llm = scripted([plan_reply])
    plan = IdeaAgent(llm, facts()).plan(Hypothesis(**VECTOR))
    assert plan.steps == ["In smooth.py, pad the image with np.pad.", "In bilateral_filter, build the 7x7 kernel.",
                          "Replace the four loops with broadcasting."]
    assert (plan.metric, plan.metric_direction) == ("seconds", "minimize")
    prompt = " ".join(llm.backend.requests[0].messages[-1].content.split())
    assert "Do not number the steps" in prompt and 'no generic steps such as "load the dataset"' in prompt
    ranked = IdeaAgent(scripted([NOVEL, *reviewed([4, 3, 5, 4])]), facts()).rank([Hypothesis(**VECTOR)], [])
    markdown = render_idea_md("Filter", None, ANALYSIS, [], ranked, ranked[0].hypothesis, plan)
    assert "1. In smooth.py, pad the image with np.pad.\n2. In bilateral_filter" in markdown
    assert ("- Scores: clarity 4 (measured: file smooth.py; code np.pad; settings 49), validity 4 (reason validity), "
            "novelty 3 (reason novelty), feasibility 5 (reason feasibility), significance 4 (reason significance) "
            "(hypothesis 1 in the review)") in markdown
    assert "1. 1." not in markdown


def test_a_plan_breaking_a_rule_is_asked_for_once_more_and_what_remains_is_recorded(scripted):
    def plan(step: str) -> dict:
        return {"hypothesis_title": "x", "datasets": [], "baselines": [], "metric": "m", "metric_direction":
                "minimize", "steps": ["In smooth.py, pad the image.", "Build the 7x7 kernel.", step],
                "expected_outcome": "Faster.",
                "compute_budget": "seconds", "workspace_files": ["smooth.py"]}

    llm = scripted([plan("Replace the loops with scipy.ndimage.generic_filter."),
                    plan("Use torch.nn.functional.unfold for the windows.")])
    result = IdeaAgent(llm, facts(constraints=PROBLEM_RULES)).plan(Hypothesis(**VECTOR))
    second = llm.backend.requests[1].messages[-1].content
    assert "An earlier version of this plan was sent back" in second and "uses scipy" in second
    assert result.broken_rules and "uses torch" in result.broken_rules[0]



def test_a_plan_sent_back_that_comes_back_malformed_keeps_the_first_plan(scripted, caplog):
    """Scripted LLM (canned replies): on sat-heuristic the embedded model's plan was sent back and the three replies
    that followed had one step each, which ended stage 1 with MalformedReplyError; the first plan now stands."""
    first = {"hypothesis_title": "x", "datasets": [], "baselines": [], "metric": "m", "metric_direction": "minimize",
             "steps": ["In smooth.py, pad the image.", "Build the 7x7 kernel.",
                       "Replace the loops with scipy.ndimage.generic_filter."],
             "expected_outcome": "Faster.", "compute_budget": "seconds", "workspace_files": ["smooth.py"]}
    short = {**first, "steps": ["Improve it."]}
    llm = scripted([first, short, short, short, short])
    result = IdeaAgent(llm, facts(constraints=PROBLEM_RULES)).plan(Hypothesis(**VECTOR))
    assert result.steps == first["steps"] and "uses scipy" in result.broken_rules[0]
    assert "no valid plan when asked again" in caplog.text and "keeping the first one" in caplog.text
    assert not llm.backend.script, "the re-ask, its two format retries and one request for any plan"


def test_a_plan_of_placeholder_steps_is_sent_back(scripted):
    """Scripted LLM (canned replies): the embedded model's first sat-heuristic plan was "description of the first
    step", "description of the second step", ...; such steps are boilerplate, and a plan of nothing else is asked
    for again."""
    placeholders = {"hypothesis_title": "x", "datasets": [], "baselines": [], "metric": "m",
                    "metric_direction": "minimize", "expected_outcome": "Faster.", "compute_budget": "seconds",
                    "workspace_files": ["smooth.py"],
                    "steps": [f"description of the {n} step" for n in ("first", "second", "third")]}
    real = {**placeholders, "steps": ["In smooth.py, pad the image with np.pad.", "Build the 7x7 kernel.",
                                      "Replace the four loops with broadcasting."]}
    llm = scripted([placeholders, real])
    result = IdeaAgent(llm, facts()).plan(Hypothesis(**VECTOR))
    assert result.steps == real["steps"]
    assert "every step is boilerplate or a placeholder" in llm.backend.requests[1].messages[-1].content


def test_a_plan_that_stays_boilerplate_gets_its_steps_in_plain_text(scripted):
    """Scripted LLM (canned replies): under the JSON grammar the embedded model's sat-heuristic plans had the steps
    "description of the first step" x 6, then "]}\\n```json\\n{", "step_name", "file_name" (fragments, dropped, so
    that reply did not validate). Then the steps are asked for in plain text, one per line, after the plan request."""
    placeholders = {"hypothesis_title": "x", "datasets": [], "baselines": [], "metric": "m",
                    "metric_direction": "minimize", "expected_outcome": "Faster.", "compute_budget": "seconds",
                    "workspace_files": ["smooth.py"],
                    "steps": [f"description of the {n} step" for n in ("first", "second", "third")]
                    + ["description of the steps to change the starter code to implement the hypothesis's method"]}
    fragments = {**placeholders, "steps": ["]}\n```json\n{", "step_name", "file_name", "function_name"]}
    text = ("Here are the steps:\n1. In smooth.py, pad the image with np.pad (mode='reflect').\n"
            "2. **Build the 7x7 Gaussian kernel once, outside the loops.**\n```\n3. Compare the results\n")
    llm = scripted([placeholders, fragments, fragments, fragments, fragments, fragments, fragments, text])
    result = IdeaAgent(llm, facts()).plan(Hypothesis(**VECTOR))
    assert result.steps == ["In smooth.py, pad the image with np.pad (mode='reflect').",
                            "Build the 7x7 Gaussian kernel once, outside the loops."]
    last = llm.backend.requests[-1]
    assert last.schema_name is None and last.messages[-2].role == "assistant"
    assert "as plain text: 3 to 6 lines, one step per line" in " ".join(last.messages[-1].content.split())
    assert not llm.backend.script


def test_a_plan_lists_the_workspace_data_not_the_papers(scripted):
    """Scripted LLM (canned replies): on the MGP-RNN paper with the sales workspace, the embedded model's plan listed
    the paper's hospital records as its dataset. The plan's datasets are the workspace's data files: an entry naming
    none of them is left out. (Named in the plan prompt, with "no step loads any other dataset", the files made the
    embedded model repeat "The experiment does not load any other dataset." until max_tokens, three times.)"""
    reply = {"hypothesis_title": "x", "datasets": ["Duke University Health System EHR", "data/history.csv (sales)"],
             "baselines": [], "metric": "m", "metric_direction": "minimize", "expected_outcome": "Lower RMSE.",
             "compute_budget": "seconds", "workspace_files": ["train.py"],
             "steps": ["In smooth.py, pad the image with np.pad.", "Build the 7x7 kernel.",
                       "Replace the four loops with broadcasting."]}
    here = facts()
    here.starter_reads = ["data/history.csv", "data/horizon.csv", "helpers.py"]
    llm = scripted([reply])
    plan = IdeaAgent(llm, here).plan(Hypothesis(**VECTOR))
    assert plan.datasets == ["data/history.csv (sales)", "data/horizon.csv"]


def test_a_plan_step_loading_the_papers_own_data_is_sent_back_and_then_dropped(scripted):
    """Scripted LLM (canned replies): the MGP-RNN plan on the sales workspace loaded "the dataset of 18 months of
    inpatient stays from the Duke University Health System". Such a step is a reason to send the plan back; left in
    the plan asked again, it is dropped while steps of the experiment remain."""
    from copilot.idea.clarity import loads_foreign_data

    data = ["data/history.csv", "data/horizon.csv"]
    duke = "Load the dataset of 18 months of inpatient stays from the Duke University Health System with pandas."
    assert loads_foreign_data(duke, data) and not loads_foreign_data("Read data/history.csv with pandas.", data)
    assert not loads_foreign_data("Load the pretrained all-MiniLM-L6-v2 encoder.", data)
    assert not loads_foreign_data(duke, []), "a workspace without data files: nothing to compare with"
    reply = {"hypothesis_title": "x", "datasets": [], "baselines": [], "metric": "m", "metric_direction": "minimize",
             "expected_outcome": "Lower RMSE.", "compute_budget": "seconds", "workspace_files": ["smooth.py"],
             "steps": [duke, "In smooth.py, pad the image with np.pad.", "Build the 7x7 kernel.",
                       "Replace the four loops with broadcasting."]}
    here = facts()
    here.starter_reads = data
    llm = scripted([reply, reply])
    plan = IdeaAgent(llm, here).plan(Hypothesis(**VECTOR))
    assert plan.steps == reply["steps"][1:]
    again = " ".join(llm.backend.requests[1].messages[-1].content.split())
    assert "loads data the workspace does not have; the experiment's data are data/history.csv" in again


def paper(**fields) -> Paper:
    return Paper(title="Notes", abstract="A.", **fields)


def test_idea_md_shows_what_could_not_be_read_at_the_top_and_marks_the_hypotheses(scripted):
    cut = paper(warnings=["notes.pdf has 90 pages; only the first 60 were read (idea.max_pages)",
                          "no title found on page 1; using the file name"])
    notices = paper_notices(cut)
    assert notices == ["notes.pdf has 90 pages; only the first 60 were read (idea.max_pages)"]
    assert paper_notices(paper()) == [] and paper_notices(None) == []
    llm = scripted([NOVEL, *reviewed([4, 3, 5, 4])])
    agent = IdeaAgent(llm, facts(), partial_input=bool(notices))
    ranked = agent.rank([Hypothesis(**VECTOR)], [])
    assert ranked[0].partial_input and hypothesis_row(ranked[0])["partial_input"] is True
    plan = ExperimentPlan(hypothesis_title=VECTOR["title"], datasets=[], baselines=[], metric="seconds",
                          metric_direction="minimize", steps=["In smooth.py, vectorise."], expected_outcome="Faster.",
                          compute_budget="seconds", workspace_files=["smooth.py"])
    markdown = render_idea_md("Filter", cut, ANALYSIS, [], ranked, ranked[0].hypothesis, plan, notices=notices)
    head = markdown.split("## Analysis")[0]
    assert "> **Notice:** notes.pdf has 90 pages; only the first 60 were read" in head
    assert "Stage 1 used only what it could read: the hypotheses below are based on partial input." in head
    assert "| 0 | Vectorise the window loops (based on partial input) |" in markdown


def test_an_input_that_is_not_a_paper_is_said_so_first():
    from copilot.paper.model import Readability

    slides = paper(source="slides.pdf", verdict=Readability(is_paper=False, reasons=["no abstract", "no references"],
                                                           unread=["pages 3-9 have no text layer"]))
    assert paper_notices(slides) == ["slides.pdf does not look like a research paper: no abstract; no references",
                                     "pages 3-9 have no text layer"]


def test_the_prompts_see_the_experiment_code_beyond_the_run_script(tmp_path):
    from copilot.idea.material import other_experiment_code
    from copilot.task import load_task

    folder, workspace = tmp_path / "problems" / "t", tmp_path / "workspaces" / "t"
    folder.mkdir(parents=True)
    workspace.mkdir(parents=True)
    (workspace / "run.py").write_text("from smooth import bilateral_filter\n")
    (workspace / "smooth.py").write_text("def bilateral_filter(image):\n    return image\n")
    (workspace / "evaluate.py").write_text("import smooth\n")
    (folder / "task.yaml").write_text("title: T\nproblem: Speed it up.\nworkspace: ../../workspaces/t\n"
                                      "metric: {name: s, direction: minimize}\nrun: python run.py\n"
                                      "evaluate: python evaluate.py\n")
    shown = other_experiment_code(load_task("t", tmp_path / "problems", tmp_path / "workspaces"))
    assert shown == "\nsmooth.py (first 2 lines):\ndef bilateral_filter(image):\n    return image"


def test_boilerplate_steps_are_dropped_from_the_plan(scripted):
    plan_reply = {"hypothesis_title": "x", "datasets": [], "baselines": [], "metric": "m", "metric_direction":
                  "minimize", "steps": ["Replace the nested loops in smooth.py with np.pad and broadcasting.",
                                        "Compare the results with the original implementation.",
                                        "If the time is lower, the hypothesis is supported."],
                  "expected_outcome": "Faster.", "compute_budget": "seconds", "workspace_files": ["smooth.py"]}
    plan = IdeaAgent(scripted([plan_reply]), facts()).plan(Hypothesis(**VECTOR))
    assert plan.steps == ["Replace the nested loops in smooth.py with np.pad and broadcasting."]


def test_a_looping_hypothesis_keeps_each_sentence_once():
    """The embedded model's ViT reproduction method, which repeated itself up to the length limit."""
    looped = ("To reproduce the results of the paper, we need to follow the same steps as the paper. We should use the "
              "same dataset, the same model architecture. We can reproduce the results of the paper by following the "
              "same steps. We should use the same dataset, the same model architecture. We can reproduce the results "
              "of the paper by following the same steps. We should use the same")
    h = Hypothesis(title="Reproduce the paper: ViT", problem="p.", rationale="r.", method=looped,
                   supporting_result="s.", refuting_result="f.")
    assert h.method == ("To reproduce the results of the paper, we need to follow the same steps as the paper. We "
                        "should use the same dataset, the same model architecture. We can reproduce the results of "
                        "the paper by following the same steps.")


def test_a_plan_that_only_describes_the_starter_is_sent_back_naming_the_methods_words(scripted):
    """Scripted LLM: the first plan restates the starter's decision tree (what the embedded model wrote for "RBF SVM
    with tuned kernel width" on tabular-digits at e113844), the second does the method."""
    workspace = ("- train.py (900 bytes)\n```python\nfrom sklearn.tree import DecisionTreeClassifier\n"
                 "model = DecisionTreeClassifier(max_depth=4, random_state=0)\n```")
    svm = Hypothesis(**hypothesis("RBF SVM with tuned kernel width",
                                  "In train.py, fit SVC(kernel='rbf') with gamma chosen by cross-validation."))

    def plan(*steps: str) -> dict:
        return {"hypothesis_title": "x", "datasets": [], "baselines": ["decision tree"], "metric": "m",
                "metric_direction": "maximize", "steps": list(steps), "expected_outcome": "Higher.",
                "compute_budget": "seconds", "workspace_files": ["train.py"]}

    starter = plan("In train.py, create a DecisionTreeClassifier with max_depth=4 and random_state=0",
                   "Fit the DecisionTreeClassifier on the pixel columns of train.csv",
                   "Write the predictions of the DecisionTreeClassifier to predictions.csv")
    method = plan("In train.py, replace the DecisionTreeClassifier by SVC(kernel='rbf')",
                  "Choose gamma from 0.0005, 0.001, 0.002 by 5-fold cross-validation on train.csv",
                  "Refit the SVC with the best gamma and write predictions.csv")
    assert plan_misses_method(starter["steps"], svm, workspace) is not None
    assert plan_misses_method(method["steps"], svm, workspace) is None
    llm = scripted([starter, method])
    task = TaskFacts(workspace=workspace, metric="accuracy", direction="maximize", run="python train.py",
                     read_only=["evaluate.py"], packages=["scikit-learn"])
    result = IdeaAgent(llm, task).plan(svm)
    second = llm.backend.requests[1].messages[-1].content
    assert "no step does the hypothesis' method" in second and "rbf" in second and "svc" in second
    assert result.steps == method["steps"] and result.broken_rules == []

    longer = plan(*starter["steps"], "Print the number of rows trained on and predicted")
    shorter = plan(*method["steps"][:2], "Write the SVC's predictions to predictions.csv")
    result = IdeaAgent(scripted([longer, shorter]), task).plan(svm)
    assert result.steps == shorter["steps"], "the plan that does the method wins over one with more steps"


def test_a_step_template_label_goes_and_the_step_stays():
    """The embedded model's tabular-digits plan: "description of step 4: Train the RBF SVM ..." is a real step behind
    the template's label; "description of step 1" alone is a placeholder."""
    from copilot.idea.clarity import generic_step
    from copilot.idea.models import ExperimentPlan

    plan = ExperimentPlan(hypothesis_title="h", datasets=[], baselines=[], metric="m", metric_direction="maximize",
                          steps=["description of step 1: Standardize the pixels with StandardScaler in train.py",
                                 "Description of the second step - Fit SVC(gamma=0.001, C=10).",
                                 "description of step 3"],
                          expected_outcome="better", compute_budget="minutes", workspace_files=[])
    assert plan.steps[:2] == ["Standardize the pixels with StandardScaler in train.py", "Fit SVC(gamma=0.001, C=10)."]
    assert generic_step(plan.steps[2], "- train.py")


def test_a_hypothesis_that_changes_the_read_only_evaluation_is_rejected(scripted):
    """Scripted replies; the first hypothesis is worded as the embedded model's was on the MGP-RNN paper ("The
    `evaluate.py` script should be modified to include a real-time validation scheme")."""
    evaluation = hypothesis("Real-time validation", "The `evaluate.py` script should be modified to include a "
                                                    "real-time validation scheme: a new function "
                                                    "real_time_validation(model, horizon) called every 7 days.")
    llm = scripted([{"hypotheses": [evaluation, VECTOR, STRIDED]}, {"hypotheses": [LUT]}, NOVEL, NOVEL, NOVEL,
                    *reviewed([4, 3, 5, 4], [4, 2, 5, 3], [2, 3, 2, 3])])
    agent = IdeaAgent(llm, facts(), num_hypotheses=3, has_paper=False)
    ranked = agent.propose("Research problem: ...", ANALYSIS, related=[], in_prompt=8)
    assert [r.hypothesis.title for r in ranked][:2] == [VECTOR["title"], STRIDED["title"]]
    assert evaluation["title"] not in [r.hypothesis.title for r in ranked]
    assert agent.rejected[0].reasons == ["changes evaluate.py, which the task keeps read-only"]


def test_what_would_support_or_refute_a_hypothesis_is_the_tasks_measure_not_asked_for(scripted):
    """Scripted LLM: a reply that still has the fields (an API model may write them) keeps the task's wording."""
    from copilot.idea.models import hypothesis_set_schema

    assert "supporting_result" not in json.dumps(hypothesis_set_schema(1).model_json_schema())
    invented = {**VECTOR, "supporting_result": "Kuhn and Roth (1993) found it 20 % faster."}
    llm = scripted([{"hypotheses": [invented]}])
    again = IdeaAgent(llm, facts(), num_hypotheses=1, has_paper=False).hypothesize("Research problem.", ANALYSIS, [])
    assert [(h.title, h.supporting_result, h.refuting_result) for h in again] == [(
        "Vectorise the window loops",
        "The task's evaluation measures a lower seconds for the experiment than for the starter code.",
        "The experiment's seconds is the starter code's or higher, or the experiment does not run.")]
    assert "supporting_result" not in llm.backend.requests[0].messages[-1].content


def test_the_plan_budget_and_expected_outcome_are_the_tasks_not_the_models(scripted):
    plan_reply = {"hypothesis_title": "x", "datasets": [], "baselines": ["loops"], "metric": "m",
                  "metric_direction": "minimize", "expected_outcome": "Faster.",
                  "compute_budget": "about 10 hours of CPU time on ImageNet",
                  "workspace_files": ["smooth.py", "scidocs3.zip", "smooth.py", "evaluate.py"],
                  "steps": ["In smooth.py, pad the image with np.pad.", "In bilateral_filter, build the 7x7 kernel.",
                            "Replace the four loops with broadcasting."]}
    llm = scripted([plan_reply])
    plan = IdeaAgent(llm, facts(run_timeout_s=120)).plan(Hypothesis(**VECTOR))
    assert plan.compute_budget == "at most 120 s per run of `python run.py` (the task's limit)"
    assert plan.expected_outcome == VECTOR["supporting_result"] and plan.hypothesis_title == VECTOR["title"]
    assert plan.workspace_files == ["smooth.py"]


def test_a_hypothesis_repeating_another_in_other_words_is_rejected_and_replaced(scripted, caplog):
    """Scripted LLM: the embedded model's three SPECTER hypotheses were one citation-based triplet loss in three
    wordings (two of them below, verbatim); the repeats are rejected, naming the hypothesis they repeat, and asked for
    once more."""
    from copilot.idea.chain import _Candidate

    loss = ("Modify the `train.py` script to {}citation-based loss function. The {}citation-based loss function "
            "will be calculated as the maximum of the triplet loss and the negative of the dot product between the "
            "query and positive paper embeddings minus the dot product between the query and negative paper "
            "embeddings. The loss function will be added to the training loss and will be updated during the "
            "training process.")
    first = hypothesis("Add a citation-based loss function to the training process", loss.format("include a ", ""))
    repeat = hypothesis("Use a more advanced citation-based loss function",
                        loss.format("use a more advanced ", "more advanced "))
    same_title = {**STRIDED, "title": "Precompute  spatial weights"}
    kept, rejected = IdeaAgent(scripted([]), facts()).screen(
        [_Candidate(Hypothesis(**first)), _Candidate(Hypothesis(**repeat)), _Candidate(Hypothesis(**LUT)),
         _Candidate(Hypothesis(**same_title))])
    assert [c.hypothesis.title for c in kept] == [first["title"], LUT["title"]]
    assert [(r.hypothesis.title, r.reasons) for r in rejected] == [(repeat["title"], [
        'repeats "Add a citation-based loss function to the training process" in other words: propose a different '
        'change']), ("Precompute  spatial weights", [
            'repeats "Precompute spatial weights" in other words: propose a different change'])]

    vector_again = hypothesis("Vectorised window loops", VECTOR["method"])
    llm = scripted([{"hypotheses": [VECTOR, vector_again, LUT]}, {"hypotheses": [STRIDED]},
                    NOVEL, NOVEL, NOVEL, *reviewed([4, 3, 5, 4], [4, 2, 5, 3], [3, 3, 4, 3])])
    agent = IdeaAgent(llm, facts(), num_hypotheses=3, has_paper=False)
    with caplog.at_level(logging.WARNING, logger="copilot.idea"):
        ranked = agent.propose("Research problem: ...", ANALYSIS, related=[], in_prompt=8)
    assert sorted(r.hypothesis.title for r in ranked) == [
        "Precompute spatial weights", "Sliding windows", "Vectorise the window loops"]
    assert [r.hypothesis.title for r in agent.rejected] == ["Vectorised window loops"]
    again = " ".join(llm.backend.requests[1].messages[-1].content.split())
    assert "Propose 1 distinct hypotheses" in again
    assert '"Vectorised window loops": repeats "Vectorise the window loops" in other words' in again
    assert "1 hypotheses broke a rule of the problem or repeated another" in caplog.text
