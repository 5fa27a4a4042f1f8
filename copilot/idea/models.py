"""The values stage 1 produces; each is written to `idea/*.json` and read by the next stage."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

# Bounded strings and lists keep grammar-constrained local models from rambling past their token budget.
Phrase = Annotated[str, StringConstraints(min_length=1, max_length=160)]
Sentence = Annotated[str, StringConstraints(min_length=1, max_length=400)]
Paragraph = Annotated[str, StringConstraints(min_length=1, max_length=800)]

# "1. 1. Load the data", "Step 2: ...", "- ...", "(3) ...": the numbering or bullet a model puts before a list item,
# possibly twice. Lists are stored without it and numbered where they are shown.
_ITEM_MARK = re.compile(
    r"^\s*(?:(?:step\s*)?\(?\d{1,2}[.):](?:\s+|$)(?:-\s+)?|step\s*\d{1,2}\s*[-:.]?\s+|[-*\u2022]\s+)+", re.IGNORECASE)
_HYPOTHESIS_MARK = re.compile(r"^\s*(?:hypothesis\s*\d{0,2}\s*[:.)-]\s*|\(?\d{1,2}[.):]\s+)+", re.IGNORECASE)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[^\W\d_]+")
_FILE_NAME = re.compile(r"[\w./-]+\.[A-Za-z]\w{0,4}\b")
_FUNCTION_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"})


def without_repeated_sentences(text: str) -> str:
    """`text` with each sentence once, and without a last fragment that only restarts an earlier sentence: at the
    length limit the embedded model's reproduction hypothesis said "We can reproduce the results of the paper by
    following the same steps as the paper ..." two and a half times."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    kept: list[str] = []
    for sentence in sentences:
        if sentence in kept:
            continue
        if sentence is sentences[-1] and not sentence.endswith((".", "!", "?")) and any(
                k.startswith(sentence.rstrip(" ,;")) for k in kept):
            continue
        kept.append(sentence)
    return " ".join(kept) or text


def says_nothing(text: str) -> bool:
    """True when `text` has no content word (", and ", "1.")."""
    return not any(word.lower() not in _FUNCTION_WORDS for word in _WORD.findall(text))


_CODE_START = re.compile(r"^\s*(?:```|(?:import|from)\s+[\w.]+|def\s+\w+\s*\(|class\s+\w+\s*[(:])")


def is_code(text: str) -> bool:
    """True when `text` is source code rather than a description: it opens with a code fence, an import, a `def` or
    a `class` (on ViT, the embedded model gave its reproduction's method as a cut-off script that loaded the csv files
    and fitted a DecisionTreeClassifier)."""
    return bool(_CODE_START.match(text))


def names_only_a_file(text: str) -> bool:
    """True when `text` says nothing once file names are taken out ("heuristic.py", "Change train.py.")."""
    return says_nothing(_FILE_NAME.sub(" ", text))


# The template label a model puts before a real step: "description of step 4: Train the RBF SVM ...".
_STEP_LABEL = re.compile(
    r"^\s*(?:a\s+|the\s+)?description of (?:the\s+)?(?:step\s*\d{1,2}|\w+\s+step)\s*[:.\-\u2013]\s+", re.IGNORECASE)


def not_a_step(text: str) -> bool:
    """True for a list item that is no step at all: empty, one identifier or file name, or JSON or a code fence. Under
    the JSON grammar the embedded model's sat-heuristic plan had the steps "]}\\n```json\\n{", "step_name",
    "file_name". One plain word ("improve") is a step, if a terse one."""
    text = text.strip()
    return (not text or "```" in text or not _WORD.search(text)
            or (len(text.split()) < 2 and not text.rstrip(".").isalpha()))


def strip_item_mark(text: str) -> str:
    """`text` without the numbering or bullet a model put before a list item ("1. 1. Load" -> "Load")."""
    return _ITEM_MARK.sub("", text).strip()


class PaperAnalysis(BaseModel):
    """What the model extracts from the paper before anything else."""

    research_tasks: list[Phrase] = Field(min_length=1, max_length=5,
                                         description="the tasks the paper addresses, one short phrase each")
    gaps: list[Sentence] = Field(min_length=1, max_length=5,
                                 description="limitations or open questions the paper leaves, one sentence each")
    keywords: list[Phrase] = Field(min_length=1, max_length=8, description="search keywords for related work")


class HypothesisDraft(BaseModel):
    """What the model writes of a hypothesis. What would support or refute it is not asked for: it is what the task's
    own evaluation measures against the starter code (`Hypothesis.from_draft`). Asked for it, the embedded model wrote
    the paper's ImageNet accuracies, invented studies ("Kuhn and Roth (1993) found ... up to 20 %") or a sentence of
    the prompt."""

    title: Phrase
    problem: Sentence = Field(description="the problem or gap it addresses")
    rationale: Sentence = Field(description="why it should work")
    method: Paragraph = Field(description="what to change in the workspace's code, concretely, with every setting")

    @field_validator("title")
    @classmethod
    def _unnumbered_title(cls, value: str) -> str:
        return _HYPOTHESIS_MARK.sub("", value).strip() or value

    @field_validator("problem", "rationale", "method")
    @classmethod
    def _without_repeats(cls, value: str) -> str:
        return without_repeated_sentences(value)


class Hypothesis(HypothesisDraft):
    """A testable research hypothesis."""

    supporting_result: Sentence = Field(description="the measured result that would support it")
    refuting_result: Sentence = Field(description="the measured result that would refute it")

    @field_validator("supporting_result", "refuting_result")
    @classmethod
    def _results_without_repeats(cls, value: str) -> str:
        return without_repeated_sentences(value)

    @classmethod
    def from_draft(cls, draft: HypothesisDraft, metric: str, direction: str) -> Hypothesis:
        """`draft` with the results that would support or refute it: the experiment's `metric`, as the task's own
        evaluation measures it, better or not better than the starter code's."""
        better, worse = ("higher", "lower") if direction == "maximize" else ("lower", "higher")
        return cls(**draft.model_dump(include=set(HypothesisDraft.model_fields)),
                   supporting_result=f"The task's evaluation measures a {better} {metric} for the experiment than for "
                                     "the starter code.",
                   refuting_result=f"The experiment's {metric} is the starter code's or {worse}, or the experiment "
                                   "does not run.")


class ReproductionDraft(HypothesisDraft):
    """The hypothesis reproducing the paper's method, asked for alone. Its fields must say something: under the JSON
    grammar the embedded model's ViT reproduction had `"rationale": ", and "` and `"method": ", "`, which became an
    empty plan. Such a reply is asked for again with the reason, and one that never validates is left out
    (`IdeaAgent.propose`). The hypotheses asked for together are not held to this: on sat-heuristic the model
    answered "heuristic.py" as every method three times running, and the set is all stage 1 has there."""

    @field_validator("problem", "rationale", "method")
    @classmethod
    def _in_words(cls, value: str) -> str:
        if says_nothing(value):
            raise ValueError(f"{value.strip()!r} says nothing: write it out in words")
        return value

    @field_validator("method")
    @classmethod
    def _more_than_a_file_name(cls, value: str) -> str:
        if names_only_a_file(value):
            raise ValueError(f"{value.strip()!r} names a file only: say what to change in it, with the settings")
        return value


class HypothesisSet(BaseModel):
    """The model's reply when asked for hypotheses."""

    hypotheses: list[HypothesisDraft] = Field(min_length=1, max_length=8)


def hypothesis_set_schema(n: int) -> type[HypothesisSet]:
    """`HypothesisSet` with at least `n` hypotheses: asked for three, the embedded model wrote one."""
    from pydantic import create_model

    return create_model(  # type: ignore[call-overload, no-any-return]
        "HypothesisSet", __base__=HypothesisSet, hypotheses=(list[HypothesisDraft], Field(min_length=n, max_length=8)))


class NoveltyJudgement(BaseModel):
    """The model's judgement of novelty against the closest retrieved works."""

    novel: bool
    closest_work_ids: list[Phrase] = Field(max_length=3,
                                           description="ids of the retrieved works most similar to the hypothesis")
    explanation: Sentence


class Score(BaseModel):
    """A 1-5 score with a one-line justification."""

    score: int = Field(ge=1, le=5)
    justification: Sentence


CRITERIA = ("clarity", "validity", "novelty", "feasibility", "significance")


class Scores(BaseModel):
    """The five review criteria."""

    clarity: Score
    validity: Score
    novelty: Score
    feasibility: Score
    significance: Score

    def total(self) -> float:
        """Mean of the five scores."""
        values = [self.clarity, self.validity, self.novelty, self.feasibility, self.significance]
        return sum(s.score for s in values) / len(values)


REASON_CHARS = 160
_CUT_OFF_TAIL = re.compile(r"\s*\S*[\u2e80-\u9fff\uac00-\ud7af\uff00-\uffef]+\S*$")


class HypothesisScore(BaseModel):
    """One hypothesis' score on one criterion, after its reason."""

    hypothesis: int = Field(ge=1, le=8, description="the hypothesis' number as shown")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=REASON_CHARS)] = Field(
        description="a few words: what in this hypothesis decides its score on this criterion")
    score: int = Field(ge=1, le=5)

    @field_validator("reason")
    @classmethod
    def _whole_words(cls, value: str) -> str:
        """A reason cut off at its length limit ends at its last whole word: there the grammar leaves only
        one-character tokens, and the embedded model ended "... with one hidden层" and "... the图像"."""
        if len(value) < REASON_CHARS - 2:
            return value
        whole = _CUT_OFF_TAIL.sub("", value)
        if whole == value and " " in value:
            whole = value.rsplit(" ", 1)[0]
        return whole.rstrip(" ,;:") + " ..."


class CriterionReview(BaseModel):
    """All hypotheses on one criterion, each with its reason written before its score; one request per criterion
    (`IdeaAgent.review`). Asked for all criteria in one reply, the embedded model scored by position (5, 3, 1, 1 on
    every criterion for the four ViT hypotheses), and with a reason per hypothesis in that reply it copied each one's
    novelty check as all four reasons."""

    scores: list[HypothesisScore] = Field(min_length=1, max_length=8)

    def in_order(self, n: int) -> list[Score]:
        """The scores of hypotheses 1..n: by the numbers the reply gives when they name each hypothesis once, else in
        the order given; each score's justification is its reason."""
        entries = self.scores
        if sorted(e.hypothesis for e in entries) == list(range(1, n + 1)):
            entries = sorted(entries, key=lambda e: e.hypothesis)
        return [Score(score=e.score, justification=e.reason) for e in entries[:n]]


REVIEWED = ("validity", "novelty", "feasibility", "significance")  # what the model scores; clarity is measured


def criterion_review_schema(n: int) -> type[CriterionReview]:
    """`CriterionReview` with exactly `n` scores, so grammar-constrained decoding cannot skip a hypothesis."""
    from pydantic import create_model

    return create_model(  # type: ignore[call-overload, no-any-return]
        f"CriterionReviewOf{n}", __base__=CriterionReview,
        scores=(list[HypothesisScore], Field(min_length=n, max_length=n)))


class RankedHypothesis(BaseModel):
    """A hypothesis with its novelty check and review scores."""

    hypothesis: Hypothesis
    lexical_overlap: float = Field(description="highest token-set Jaccard similarity with a retrieved work (0-1)")
    closest_lexical_id: str | None = None
    novelty: NoveltyJudgement
    scores: Scores
    total: float
    missing_packages: list[str] = Field(
        default_factory=list,
        description="packages the hypothesis names that the sandbox cannot import; such hypotheses rank last")
    reproduces_paper: bool = Field(
        default=False, description="the hypothesis reproducing the paper's proposed method; it ranks first")
    review_number: int | None = Field(
        default=None, description="its number in the review (the order proposed); breaks ties of total and clarity")
    partial_input: bool = Field(
        default=False, description="stage 1 could read the input only in part (see the paper's notices)")


class RejectedHypothesis(BaseModel):
    """A hypothesis that breaks a rule of the problem: kept with the reasons, never ranked or tested."""

    hypothesis: Hypothesis
    reasons: list[str] = Field(min_length=1)
    reproduces_paper: bool = False


class PlanDraft(BaseModel):
    """What the model writes of the plan: the hypothesis' title, its data, baselines, steps and files. The rest is
    the task's and the hypothesis' (`ExperimentPlan`): asked for them, the embedded model wrote "the same accuracy as
    the paper's results" as the expected outcome and "about 10 hours of CPU time on ImageNet" as the budget. The
    title is asked first although the hypothesis' own replaces it: writing it first keeps the steps on the
    hypothesis (without it, the ViT plan's steps were the starter's decision tree, step by step)."""

    hypothesis_title: Phrase
    datasets: list[Phrase] = Field(max_length=5)
    baselines: list[Phrase] = Field(max_length=5)
    steps: list[Sentence] = Field(min_length=1, max_length=10, description=(
        "this experiment's steps in order, each naming the file, function and settings it changes; not numbered"))
    workspace_files: list[Phrase] = Field(max_length=10, description="workspace files the plan changes or creates")

    @field_validator("steps", mode="before")
    @classmethod
    def _unnumbered_steps(cls, steps: object) -> object:
        """Steps are stored without the numbering a model adds (it wrote "1. 1. Load the dataset"); empty ones,
        fragments (`not_a_step`) and exact repeats are dropped before the length is checked (it wrote one step three
        times). Whoever shows the steps numbers them."""
        if not isinstance(steps, list) or not all(isinstance(step, str) for step in steps):
            return steps
        return [step for step in dict.fromkeys(_STEP_LABEL.sub("", strip_item_mark(step)) for step in steps)
                if not not_a_step(step)]


class ExperimentPlan(PlanDraft):
    """The plan stage 2 implements."""

    metric: Phrase
    metric_direction: Literal["maximize", "minimize"]
    expected_outcome: Sentence
    compute_budget: Phrase = Field(description="e.g. 'minutes on 2 CPU cores'")
    broken_rules: list[str] = Field(default_factory=list, description=(
        "rules of the problem the plan's steps still break after it was asked once more (shown in idea.md)"))


def plan_schema(min_steps: int) -> type[PlanDraft]:
    """`PlanDraft` with at least `min_steps` steps: the embedded model's plans were one step, the hypothesis' method
    restated ("In smooth.py, replace the nested loops with vectorized operations")."""
    from pydantic import create_model

    return create_model(  # type: ignore[call-overload, no-any-return]
        "ExperimentPlan", __base__=PlanDraft,
        steps=(list[Sentence], Field(min_length=min_steps, max_length=10, description=(
            "this experiment's steps in order, each naming the file, function and settings it changes; not numbered"))))
