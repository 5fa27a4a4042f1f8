"""Stage 1's ranking with a scripted LLM (canned replies, not model output): the comparative review's scores order
the hypotheses, and one that needs a package the sandbox cannot import ranks last, marked as such in idea.md and at
the gate."""

from __future__ import annotations

from pathlib import Path

from copilot.feedback.base import editable_fields
from copilot.idea.chain import IdeaAgent, TaskFacts
from copilot.idea.models import ExperimentPlan, Hypothesis, PaperAnalysis, ReproductionDraft, is_code
from copilot.idea.render import hypothesis_row, render_idea_md
from copilot.idea.wording import written_method


def hypothesis(title: str, method: str) -> Hypothesis:
    return Hypothesis(title=title, problem="The naive forecast misses the weekly cycle.", rationale="Calendar effects.",
                      method=method, supporting_result="Lower RMSE.", refuting_result="No gain.")


CRITERIA = ("clarity", "validity", "novelty", "feasibility", "significance")


REVIEWED = ("validity", "novelty", "feasibility", "significance")


def review(*totals: float) -> list[dict]:
    """The review's replies, one per criterion (clarity is measured, not asked): hypothesis i gets four scores, not
    all equal, whose mean is totals[i] (a multiple of 0.25 between 2 and 4)."""
    def vector(total: float) -> list[int]:
        assert 2 <= total <= 4
        base, extra = int(total), round((total - int(total)) * 4)
        if extra == 0:
            return [base - 1, base, base, base + 1]
        return [base + 1] * extra + [base] * (4 - extra)

    vectors = [vector(t) for t in totals]
    return [{"scores": [{"hypothesis": i, "reason": f"what decides {i} on {c}", "score": v[k]}
                        for i, v in enumerate(vectors, 1)]} for k, c in enumerate(REVIEWED)]


NOVEL = {"novel": True, "closest_work_ids": [], "explanation": "Not in the retrieved works."}


def test_a_hypothesis_needing_an_uninstalled_package_ranks_last_whatever_its_scores(scripted):
    prophet = hypothesis("Third yearly harmonic", "Replace the model with Prophet(yearly_harmonic=3).")
    weekly = hypothesis("Day-of-week regression", "Fit scikit-learn's LinearRegression on day-of-week indicators.")
    lags = hypothesis("Seasonal naive", "Repeat the last observed week with numpy.")
    llm = scripted([NOVEL, NOVEL, NOVEL, *review(4, 2, 3)])
    facts = TaskFacts(workspace="train.py", metric="rmse", direction="minimize", run="python train.py", read_only=[],
                      packages=["numpy", "pandas", "sklearn"])
    ranked = IdeaAgent(llm, facts).rank([prophet, weekly, lags], related=[])
    assert [r.hypothesis.title for r in ranked] == ["Seasonal naive", "Day-of-week regression", "Third yearly harmonic"]
    assert [r.total for r in ranked] == [2.6, 1.8, 3.8], "clarity measured: 1, 1, 3"
    assert [r.schema_name for r in llm.backend.requests][-4:] == ["CriterionReviewOf3"] * 4, "all three together"
    assert [r.missing_packages for r in ranked] == [[], [], ["prophet"]]

    row = hypothesis_row(ranked[2])
    assert row["missing_packages"] == ["prophet"] and "missing_packages" not in editable_fields(row)
    plan = ExperimentPlan(hypothesis_title="Seasonal naive", datasets=["data/history.csv"], baselines=["naive"],
                          metric="rmse", metric_direction="minimize", steps=["Repeat the last week."],
                          expected_outcome="Lower RMSE.", compute_budget="seconds", workspace_files=["train.py"])
    analysis = PaperAnalysis(research_tasks=["forecasting"], gaps=["seasonality"], keywords=["sales"])
    markdown = render_idea_md("Sales", None, analysis, [], ranked, ranked[0].hypothesis, plan)
    assert "| 2 | Third yearly harmonic (needs prophet: not installed) | 3 |" in markdown


def test_with_the_sandbox_packages_unknown_only_the_scores_rank(scripted):
    prophet = hypothesis("Third yearly harmonic", "Replace the model with Prophet(yearly_harmonic=3).")
    weekly = hypothesis("Day-of-week regression", "Fit LinearRegression() on day-of-week indicators.")
    llm = scripted([NOVEL, NOVEL, *review(4, 2)])
    facts = TaskFacts(workspace="train.py", metric="rmse", direction="minimize", run="python train.py", read_only=[])
    ranked = IdeaAgent(llm, facts).rank([prophet, weekly], related=[])
    assert [r.hypothesis.title for r in ranked] == ["Third yearly harmonic", "Day-of-week regression"]
    assert ranked[0].missing_packages == []


def test_when_every_hypothesis_needs_a_missing_package_they_are_asked_for_once_more(scripted, caplog):
    prophet = hypothesis("Third yearly harmonic", "Replace the model with Prophet(yearly_harmonic=3).")
    trend = hypothesis("Piecewise trend", "Replace the model with Prophet(growth='linear').")
    weekly = hypothesis("Day-of-week regression", "Fit LinearRegression() on day-of-week indicators.")
    lags = hypothesis("Seasonal naive", "Repeat the last observed week with np.tile(week, 2).")
    script = [{"hypotheses": [prophet.model_dump(), trend.model_dump()]},
              {"hypotheses": [weekly.model_dump(), lags.model_dump()]},
              NOVEL, NOVEL, NOVEL, NOVEL, *review(4, 3.4, 3, 2.6)]
    llm = scripted(script)
    facts = TaskFacts(workspace="train.py", metric="rmse", direction="minimize", run="python train.py", read_only=[],
                      packages=["numpy", "pandas", "sklearn"])
    analysis = PaperAnalysis(research_tasks=["forecasting"], gaps=["seasonality"], keywords=["sales"])
    ranked = IdeaAgent(llm, facts, num_hypotheses=2).propose("paper", analysis, related=[], in_prompt=8)
    assert [r.hypothesis.title for r in ranked] == ["Day-of-week regression", "Seasonal naive",
                                                    "Third yearly harmonic", "Piecewise trend"]
    asks = [" ".join(r.messages[-1].content.split()) for r in llm.backend.requests if r.schema_name == "HypothesisSet"]
    assert len(asks) == 2 and "Do not use" not in asks[0]
    assert "the first hypothesis reproduces that method exactly" in asks[0]
    assert "Do not use prophet: not installed, and nothing can be installed" in asks[1]
    assert "asking once more without them" in caplog.text
    assert not llm.backend.script, "every scripted reply was used"


def test_one_feasible_hypothesis_is_enough_and_nothing_is_asked_again(scripted):
    prophet = hypothesis("Third yearly harmonic", "Replace the model with Prophet(yearly_harmonic=3).")
    weekly = hypothesis("Day-of-week regression", "Fit LinearRegression() on day-of-week indicators.")
    llm = scripted([{"hypotheses": [prophet.model_dump(), weekly.model_dump()]}, NOVEL, NOVEL, *review(4, 2)])
    facts = TaskFacts(workspace="train.py", metric="rmse", direction="minimize", run="python train.py", read_only=[],
                      packages=["numpy", "pandas", "sklearn"])
    analysis = PaperAnalysis(research_tasks=["forecasting"], gaps=["seasonality"], keywords=["sales"])
    ranked = IdeaAgent(llm, facts, num_hypotheses=2).propose("paper", analysis, related=[], in_prompt=8)
    assert [r.hypothesis.title for r in ranked] == ["Day-of-week regression", "Third yearly harmonic"]


METHOD = ("## Method\nProposed. Ordinary least squares on log(sales) with the features: days since the start; six "
          "day-of-week indicators; sin and cos of 2 pi k d / 365.25 for k = 1, 2.")


def test_with_a_paper_method_its_reproduction_is_asked_for_alone_and_ranks_first(scripted):
    """Scripted LLM (canned replies): the reproduction is a separate request showing the method section verbatim;
    it is reviewed with the others and ranks first despite a lower score, the other hypotheses are asked to go beyond
    it, and it is marked in idea.md and at the gate (not editable)."""
    reproduce = hypothesis("Reproduce the paper: calendar regression",
                           "Replace the model with LinearRegression on log(sales) with days since start, six "
                           "day-of-week indicators and sin/cos of the day of year for k = 1, 2.")
    weekly = hypothesis("Day-of-week regression", "Fit LinearRegression() on day-of-week indicators.")
    prophet = hypothesis("Third yearly harmonic", "Replace the model with Prophet(yearly_harmonic=3).")
    llm = scripted([reproduce.model_dump(), {"hypotheses": [weekly.model_dump(), prophet.model_dump()]},
                    NOVEL, NOVEL, NOVEL, *review(2, 3, 4)])
    facts = TaskFacts(workspace="train.py", metric="rmse", direction="minimize", run="python train.py", read_only=[],
                      packages=["numpy", "pandas", "sklearn"])
    analysis = PaperAnalysis(research_tasks=["forecasting"], gaps=["seasonality"], keywords=["sales"])
    ranked = IdeaAgent(llm, facts, num_hypotheses=2, paper_method=METHOD).propose("paper", analysis, related=[],
                                                                                  in_prompt=8)
    assert [r.hypothesis.title for r in ranked] == ["Reproduce the paper: calendar regression",
                                                    "Day-of-week regression", "Third yearly harmonic"]
    assert [r.reproduces_paper for r in ranked] == [True, False, False] and ranked[0].total == 2.2
    requests = llm.backend.requests
    assert requests[0].schema_name == "ReproductionDraft" and METHOD in requests[0].messages[-1].content
    assert "reports as best (the abstract says which), not a\nbaseline" in requests[0].messages[-1].content
    ask = " ".join(next(r for r in requests if r.schema_name == "HypothesisSet").messages[-1].content.split())
    assert "A separate hypothesis already reproduces the method the paper proposes" in ask
    assert "the first hypothesis reproduces" not in ask
    assert not llm.backend.script, "every scripted reply was used"

    row = hypothesis_row(ranked[0])
    assert row["reproduces_paper"] is True and "reproduces_paper" not in editable_fields(row)
    plan = ExperimentPlan(hypothesis_title=reproduce.title, datasets=["data/history.csv"], baselines=["mean"],
                          metric="rmse", metric_direction="minimize", steps=["Fit the calendar regression."],
                          expected_outcome="Lower RMSE.", compute_budget="seconds", workspace_files=["train.py"])
    markdown = render_idea_md("Sales", None, analysis, [], ranked, reproduce, plan)
    assert "| 0 | Reproduce the paper: calendar regression (reproduces the paper) | 3 |" in markdown


def test_without_a_paper_method_nothing_extra_is_asked(scripted):
    weekly = hypothesis("Day-of-week regression", "Fit LinearRegression() on day-of-week indicators.")
    llm = scripted([{"hypotheses": [weekly.model_dump()]}, NOVEL, *review(3)])
    facts = TaskFacts(workspace="train.py", metric="rmse", direction="minimize", run="python train.py", read_only=[])
    analysis = PaperAnalysis(research_tasks=["forecasting"], gaps=["seasonality"], keywords=["sales"])
    ranked = IdeaAgent(llm, facts, num_hypotheses=1).propose("paper", analysis, related=[], in_prompt=8)
    assert [(r.hypothesis.title, r.reproduces_paper) for r in ranked] == [("Day-of-week regression", False)]
    assert [r.schema_name for r in llm.backend.requests] == ["HypothesisSet", "NoveltyJudgement",
                                                             *["CriterionReviewOf1"] * 4]


def test_the_reproduction_is_written_from_the_abstract_and_the_method_section(tmp_path):
    """The digits paper's method section lists four model families with the baseline first; its abstract names the
    best. Without a method section there is nothing to reproduce."""
    from copilot.idea.material import reproduction_source
    from copilot.paper import load_paper

    repo = Path(__file__).resolve().parent.parent
    source = reproduction_source(load_paper(str(repo / "problems" / "tabular-digits" / "paper.pdf")))
    assert source.startswith("## Abstract\nShallow decision trees") and "support-vector machine" in source
    assert "\n\n## Method\nWe keep the data pipeline fixed" in source
    plain = tmp_path / "plain.md"
    plain.write_text("# Q\n\n## Abstract\nA.\n\n## Results\nNumbers.\n")
    assert reproduction_source(load_paper(str(plain))) == ""


def test_the_abstracts_claims_are_its_sentences_that_state_a_contribution(tmp_path):
    """The digits paper's abstract names its best model in "The largest gain comes from ..."; the embedded model,
    given the abstract and the method section only, wrote "Implement a deep learning model". Real abstracts phrase
    their contribution as "We propose", "This paper introduces", "... outperforms ...". A sentence of background is
    no claim."""
    from copilot.paper import load_paper
    from copilot.paper.claims import claim_sentences

    repo = Path(__file__).resolve().parent.parent
    digits = claim_sentences(load_paper(str(repo / "problems" / "tabular-digits" / "paper.pdf")).abstract)
    assert [c.split(",")[0] for c in digits] == [
        "On the 8x8 handwritten digits benchmark we show that a depth-4 tree reaches only 0.58 test accuracy",
        "The largest gain comes from an RBF support-vector machine with a small kernel width"]
    abstract = ("Representation learning is a critical ingredient for natural language processing systems. We propose "
                "SPECTER, a new method to generate document-level embedding of scientific documents. Unlike existing "
                "models, it needs no fine-tuning. This paper introduces SCIDOCS, a benchmark. We show that SPECTER "
                "outperforms a variety of competitive baselines on the benchmark. Our method is also fast.")
    assert claim_sentences(abstract) == [
        "We propose SPECTER, a new method to generate document-level embedding of scientific documents.",
        "This paper introduces SCIDOCS, a benchmark.",
        "We show that SPECTER outperforms a variety of competitive baselines on the benchmark."]
    assert claim_sentences(abstract, limit=1) == [abstract.split(". ")[1] + "."]
    assert claim_sentences("Sepsis is a life-threatening complication. Early detection improves outcomes.") == []


def test_the_reproduction_request_names_the_abstracts_claims(scripted):
    """Scripted LLM (a canned reply): with claims, the request lists them word for word and says they name the
    method; without claims it keeps pointing to the abstract."""
    reply = hypothesis("Reproduce the paper: RBF support-vector machine",
                       "Replace the tree with SVC(gamma=0.001, C=10).")
    llm = scripted([reply.model_dump()])
    facts = TaskFacts(workspace="train.py", metric="accuracy", direction="maximize", run="python train.py",
                      read_only=["evaluate.py"])
    claims = ["The largest gain comes from an RBF support-vector machine with a small kernel width."]
    made = IdeaAgent(llm, facts, paper_method="## Method\nFour families.", paper_claims=claims).reproduction()
    assert made.title == "Reproduce the paper: RBF support-vector machine"
    ask = llm.backend.requests[0].messages[-1].content
    assert ("The abstract's claims, word for word:\n- The largest gain comes from an RBF support-vector machine with a "
            "small kernel width.\n\nWrite one hypothesis: that the method this paper proposes or reports as best (the "
            "claims above name it), not a\nbaseline") in ask


def test_past_its_deadline_stage_one_goes_on_with_what_it_has(scripted):
    """Scripted LLM (canned replies): with stage 1's share of the wall clock spent, no reproduction request, one
    hypothesis asked for, no novelty check (marked "not checked"), and one review; then the plan as always."""
    import time

    from copilot.idea.chain import NOT_CHECKED, IdeaAgent, TaskFacts
    from copilot.idea.models import PaperAnalysis
    from copilot.idea.render import hypothesis_row

    hypothesis = {"title": "Use an SVM", "problem": "p.", "rationale": "r.", "method": "Fit SVC.",
                  "supporting_result": "s.", "refuting_result": "f."}
    review = [{"scores": [{"hypothesis": 1, "reason": "r.", "score": score}]} for score in (4, 2, 4, 3)]
    llm = scripted([{"hypotheses": [hypothesis]}, *review])
    agent = IdeaAgent(llm, TaskFacts(workspace="- train.py", metric="accuracy", direction="maximize",
                                     run="python train.py", read_only=[]),
                      paper_method="## Method\nSVC.", deadline=time.monotonic() - 1)
    analysis = PaperAnalysis(research_tasks=["digits"], gaps=["g."], keywords=["svm"])
    ranked = agent.propose("material", analysis, [], 5)
    assert [r.hypothesis.title for r in ranked] == ["Use an SVM"] and not ranked[0].reproduces_paper
    assert ranked[0].novelty == NOT_CHECKED and hypothesis_row(ranked[0])["novel"] is None
    purposes = [r.messages[-1].content.split("\n")[0] for r in llm.backend.requests]
    assert len(purposes) == 5, purposes


def test_a_hypothesis_field_of_punctuation_is_sent_back_and_a_reproduction_never_written_is_left_out(scripted, caplog):
    """Scripted LLM (canned replies): the embedded model's ViT reproduction, under the JSON grammar, had
    `"method": ", "` and `"rationale": ", and "`. Such a reply does not validate and is asked for again, with the
    reason; when no try gives one, stage 1 goes on with the other hypotheses and says so."""
    import pydantic
    import pytest

    empty = {"title": "Reproduce the paper: ViT", "problem": "Reproduce ViT on digits.", "rationale": ", and ",
             "method": ", ", "supporting_result": ", ", "refuting_result": ", "}
    with pytest.raises(pydantic.ValidationError, match="says nothing"):
        ReproductionDraft(**empty)
    Hypothesis(**empty)  # the hypotheses asked for together are not held to it: there they are all stage 1 has
    file_only = {**hypothesis("Heuristic Function Improvement", "x y").model_dump(), "method": "heuristic.py"}
    with pytest.raises(pydantic.ValidationError, match="names a file only"):  # sat-heuristic's three hypotheses
        ReproductionDraft(**file_only)
    weekly = hypothesis("Day-of-week regression", "Fit LinearRegression() on day-of-week indicators.")
    llm = scripted([empty, empty, empty, {"hypotheses": [weekly.model_dump()]}, NOVEL, *review(3)])
    facts = TaskFacts(workspace="train.py", metric="rmse", direction="minimize", run="python train.py", read_only=[])
    analysis = PaperAnalysis(research_tasks=["forecasting"], gaps=["seasonality"], keywords=["sales"])
    ranked = IdeaAgent(llm, facts, num_hypotheses=1, paper_method=METHOD).propose("paper", analysis, related=[],
                                                                                  in_prompt=8)
    assert [(r.hypothesis.title, r.reproduces_paper) for r in ranked] == [("Day-of-week regression", False)]
    retry = llm.backend.requests[1].messages[-1].content
    assert "not a valid ReproductionDraft" in retry and "says nothing" in retry
    assert "no hypothesis reproducing the paper" in caplog.text


def test_a_method_that_names_only_a_file_is_asked_for_once_more_in_the_same_conversation(scripted, caplog):
    """Scripted LLM (canned replies): on sat-heuristic the embedded model wrote "heuristic.py" as every method, and
    the review then scored all three hypotheses 1. Each such method is asked for once more, in free text (under the
    JSON grammar it wrote "heuristic.py" again), as the next turn after the hypotheses (the cached prompt is reused);
    an answer that still names only a file leaves the hypothesis as it was."""
    file_only = [hypothesis(title, "heuristic.py") for title in ("Variable Selection Improvement", "Conflict First")]
    written = "In heuristic_fn of heuristic.py, pick the variable that occurs most often in the shortest clauses."
    llm = scripted([{"hypotheses": [h.model_dump() for h in file_only]}, f"**Method:** ```{written}```",
                    "heuristic.py", NOVEL, NOVEL, *review(3, 2)])
    facts = TaskFacts(workspace="heuristic.py", metric="time_s", direction="minimize", run="python solver.py",
                      read_only=[])
    analysis = PaperAnalysis(research_tasks=["3-SAT"], gaps=["branching"], keywords=["DPLL"])
    ranked = IdeaAgent(llm, facts, num_hypotheses=2, has_paper=False).propose("problem", analysis, [], 5)
    methods = {r.hypothesis.title: r.hypothesis.method for r in ranked}
    assert methods == {"Variable Selection Improvement": written, "Conflict First": "heuristic.py"}
    ask = llm.backend.requests[1]
    assert ask.schema_name is None and ask.messages[-2].role == "assistant"
    assert ask.messages[:2] == llm.backend.requests[0].messages, "the same conversation, so its prefix is cached"
    assert '"Variable Selection Improvement" gives as its method only "heuristic.py"' in \
        " ".join(ask.messages[-1].content.split())
    assert "names only a file as its method, and asked again too" in caplog.text
    assert written_method("x. " * 400).endswith("x.") and len(written_method("x. " * 400)) <= 800


def test_a_kind_of_change_instead_of_a_change_is_asked_for_once_more_and_kept_when_the_answer_is_vaguer(scripted,
                                                                                                       caplog):
    """Scripted LLM (canned replies, worded after the embedded model's on three real tasks): a method that names
    neither code nor a setting ("Modify the loss function in train.py to use a different loss function") is asked
    for in free text as the next turn; an answer less specific than the method it replaces is not taken. The paper's
    reproduction is asked in its own conversation the same way."""
    loss = hypothesis("Use a different loss function",
                      "Modify the loss function in train.py to use a different loss function.")
    depth = hypothesis("Add a more complex model", "Modify the model in train.py to make it more complex.")
    reproduce = hypothesis("Reproduce the paper: FCN", "Fully Convolutional Network (FCN) with ResNet structure.")
    written = "In train.py, replace the squared error with HuberRegressor(epsilon=1.35) and keep alpha=0.0001."
    fcn = ("In train.py, build three Conv1d blocks with 128, 256 and 128 filters of widths 8, 5, 3, batch "
           "normalisation and ReLU, then global average pooling and softmax; train with Adam(lr=0.001) for 120 epochs.")
    llm = scripted([reproduce.model_dump(), fcn, {"hypotheses": [loss.model_dump(), depth.model_dump()]}, written,
                    "Make it better.", NOVEL, NOVEL, NOVEL, *review(3, 2.5, 2)])
    facts = TaskFacts(workspace="train.py", metric="rmse", direction="minimize", run="python train.py", read_only=[])
    analysis = PaperAnalysis(research_tasks=["forecasting"], gaps=["robustness"], keywords=["loss"])
    agent = IdeaAgent(llm, facts, num_hypotheses=2, paper_method="## Method\nAn FCN.")
    ranked = agent.propose("paper", analysis, [], 5)
    methods = {r.hypothesis.title: r.hypothesis.method for r in ranked}
    assert methods == {"Reproduce the paper: FCN": fcn, "Use a different loss function": written,
                       "Add a more complex model": depth.method}
    requests = llm.backend.requests
    assert requests[1].schema_name is None and requests[1].messages[:-2] == requests[0].messages
    assert '"Use a different loss function" gives as its method only' in " ".join(
        requests[3].messages[-1].content.split())
    assert "choose the one technique of that kind" in " ".join(requests[3].messages[-1].content.split())
    assert "came back less specific" in caplog.text
    assert not llm.backend.script, "every scripted reply was used"


def test_a_method_asked_again_that_comes_back_as_json_gives_its_method_field_or_leaves_the_hypothesis(scripted,
                                                                                                       caplog):
    """Scripted LLM (canned replies, worded after the embedded model's on ucr-gunpoint): asked in free text for the
    method of its JSON reproduction, it answered the same JSON object again; the whole object became the method and
    went into every implementation prompt. A JSON answer gives its `method` field; the same method (or none) leaves
    the hypothesis as it was."""
    reproduce = hypothesis("Reproduce the paper: FCN", "Fully Convolutional Network (FCN) with ResNet structure")
    llm = scripted([reproduce.model_dump(), reproduce.model_dump_json(), {"hypotheses": []}])
    facts = TaskFacts(workspace="train.py", metric="error_rate", direction="minimize", run="python train.py",
                      read_only=[])
    agent = IdeaAgent(llm, facts, num_hypotheses=1, paper_method="## Method\nAn FCN.")
    assert agent.reproduction().method == reproduce.method
    assert "came back the same or empty" in caplog.text
    assert "not in JSON" in llm.backend.requests[1].messages[-1].content

    conv = "In train.py, replace 1-NN with three Conv1d blocks (128, 256, 128 filters; widths 8, 5, 3)."
    assert written_method('```json\n{"title": "FCN", "method": "' + conv + '"}\n```') == conv
    cut = '{"title": "FCN", "method": "' + conv + '", "supporting_result": "lower err'  # cut at max_tokens
    assert written_method(cut) == conv
    assert written_method('{"title": "FCN", "problem": "error"}') == ""
    # Raw newlines inside the cut method string (the embedded model's, on ViT) crashed strict JSON decoding.
    assert written_method('{"title": "ViT", "method": "Cut the image\n\tinto patches. Then \\q", "x') == \
        "Cut the image into patches. Then \\q"
    assert written_method('{"method": "Cut\n\tit \\"here\\"", "x') == 'Cut it "here"', "raw newlines, valid escapes"


def test_a_method_that_is_code_is_asked_for_in_words(scripted, caplog):
    """Scripted LLM (canned replies, worded after the embedded model's on the ViT paper): its reproduction's method
    was a cut-off script (csv loading and a DecisionTreeClassifier), which names code and so looked specific. Code is
    asked for once more in words; a description replaces it even where it names less code; code again is not taken."""
    script = "```python\nimport pandas as pd\nfrom sklearn.tree import DecisionTreeClassifier\n\ntrain = pd.read_csv("
    assert is_code(script) and is_code("from sklearn.svm import SVC\nclf = SVC()") and is_code("def f(x):")
    assert not is_code("In train.py, import nothing new; cut each 8x8 image into four 4x4 patches.")
    words = ("Cut each 8x8 digit into four 4x4 patches, embed each patch linearly into 16 dimensions, add position "
             "embeddings, apply one self-attention layer and classify the mean token.")
    reproduce = hypothesis("Reproduce the paper: ViT", script)
    facts = TaskFacts(workspace="train.py", metric="accuracy", direction="maximize", run="python train.py",
                      read_only=[])
    llm = scripted([reproduce.model_dump(), words])
    agent = IdeaAgent(llm, facts, num_hypotheses=1, paper_method="## Method\nPatches, then a Transformer.")
    assert agent.reproduction().method == words
    assert "Answer in plain sentences" in llm.backend.requests[1].messages[-1].content
    llm = scripted([reproduce.model_dump(), "```python\nimport torch\nmodel = torch.nn.Transformer()\n```"])
    agent = IdeaAgent(llm, facts, num_hypotheses=1, paper_method="## Method\nPatches, then a Transformer.")
    assert agent.reproduction().method == script
    assert "came back as code too" in caplog.text


def test_the_prompts_that_read_the_material_open_with_the_same_text_so_a_local_model_reads_it_once(scripted):
    """Scripted LLM (canned replies): the analysis, the reproduction, the hypotheses and the plan each open with the
    material and the workspace, byte for byte the same, so llama.cpp evaluates that prefix once (its KV cache); in
    the real suite's first runs stage 1 had 73 of each prompt's tokens cached (the system prompt). The review stays
    short: with the workspace in its prompt the embedded model scored everything 3."""
    weekly = hypothesis("Day-of-week regression", "Fit LinearRegression() on day-of-week indicators in train.py.")
    fcn = hypothesis("Reproduce the paper: weekly profile", "In train.py, add LinearRegression() on weekday dummies.")
    plan = {"hypothesis_title": weekly.title, "datasets": [], "baselines": ["history mean"], "metric": "rmse",
            "metric_direction": "minimize", "workspace_files": ["train.py"], "expected_outcome": "Lower RMSE.",
            "compute_budget": "a minute",
            "steps": ["In train.py, compute weekday dummies from the date column of data/history.csv",
                      "Fit LinearRegression() on the dummies in train.py",
                      "Predict the horizon dates in train.py with the fitted LinearRegression()"]}
    analysis = {"research_tasks": ["forecast daily sales"], "gaps": ["weekly cycle"], "keywords": ["sales"]}
    llm = scripted([analysis, fcn.model_dump(), {"hypotheses": [weekly.model_dump()]}, plan])
    facts = TaskFacts(workspace="train.py (history mean)", metric="rmse", direction="minimize", run="python train.py",
                      read_only=[])
    agent = IdeaAgent(llm, facts, num_hypotheses=1, paper_method="## Method\nWeekday dummies.",
                      material="Paper:\nSales have a weekly cycle.")
    parsed = agent.analyse("Paper:\nSales have a weekly cycle.")
    agent.reproduction()
    agent.hypothesize(agent.material, parsed, related=[])
    agent.plan(weekly)
    prompts = [r.messages[-1].content for r in llm.backend.requests]
    opening = prompts[0][:prompts[0].index("Read the research material above")]
    assert "Sales have a weekly cycle." in opening and "train.py (history mean)" in opening
    assert all(p.startswith(opening) for p in prompts), [p[:200] for p in prompts]
    assert [r.messages[0] for r in llm.backend.requests].count(llm.backend.requests[0].messages[0]) == 4


def test_a_reproduction_that_breaks_a_rule_is_asked_for_once_more_naming_the_rule(scripted):
    """Scripted LLM (canned replies): monthly-nbeats' reproduction of N-BEATS said "the new code changes the
    evaluate.py file" and was rejected, so the suite run went on without the paper's method. Now the reproduction is
    asked for once more, shown with the rule it broke; the second one obeys it and ranks first, the first stays in
    the rejected list."""
    breaking = hypothesis("Reproduce the paper: N-BEATS", "Train stacks of torch.nn.Linear() blocks on the series; "
                          "the new code changes the evaluate.py file to read its forecasts.")
    obeying = hypothesis("Reproduce the paper: N-BEATS", "Train stacks of torch.nn.Linear() blocks in train.py and "
                         "write the forecasts where the starter writes them.")
    weekly = hypothesis("Seasonal naive", "Forecast with np.tile() of the last observed year.")
    llm = scripted([breaking.model_dump(), {"hypotheses": [weekly.model_dump()]}, obeying.model_dump(),
                    NOVEL, NOVEL, *review(2, 3)])
    facts = TaskFacts(workspace="train.py", metric="smape", direction="minimize", run="python train.py",
                      read_only=["evaluate.py"], packages=["numpy", "pandas", "torch"])
    analysis = PaperAnalysis(research_tasks=["forecasting"], gaps=["interpretability"], keywords=["N-BEATS"])
    agent = IdeaAgent(llm, facts, num_hypotheses=1, paper_method="## Method\nN-BEATS: stacks of blocks.")
    ranked = agent.propose("paper", analysis, related=[], in_prompt=8)
    assert [(r.hypothesis.method, r.reproduces_paper) for r in ranked] == [(obeying.method, True),
                                                                          (weekly.method, False)]
    assert [(r.hypothesis.method, r.reasons) for r in agent.rejected] == [
        (breaking.method, ["changes evaluate.py, which the task keeps read-only"])]
    first = llm.backend.requests[0].messages[-1].content  # the first request already names the files it may change
    assert ("The change is made in the code that the experiment command `python train.py` runs, never in "
            "evaluate.py: the task keeps it read-only") in " ".join(first.split())
    again = llm.backend.requests[2]
    assert again.schema_name == "ReproductionDraft" and again.messages[-2].role == "assistant"
    assert "changes evaluate.py, which the task keeps read-only" in again.messages[-1].content
    assert not llm.backend.script, "every scripted reply was used"
