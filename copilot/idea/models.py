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


class Hypothesis(BaseModel):
    """A testable research hypothesis."""

    title: Phrase
    problem: Sentence = Field(description="the problem or gap it addresses")
    rationale: Sentence = Field(description="why it should work")
    method: Paragraph = Field(description="what to change in the workspace's code, concretely, with every setting")
    supporting_result: Sentence = Field(description="the measured result that would support it")
    refuting_result: Sentence = Field(description="the measured result that would refute it")

    @field_validator("title")
    @classmethod
    def _unnumbered_title(cls, value: str) -> str:
        return _HYPOTHESIS_MARK.sub("", value).strip() or value

    @field_validator("problem", "rationale", "method", "supporting_result", "refuting_result")
    @classmethod
    def _without_repeats(cls, value: str) -> str:
        return without_repeated_sentences(value)


class ReproductionHypothesis(Hypothesis):
    """The hypothesis reproducing the paper's method, asked for alone. Its fields must say something: under the JSON
    grammar the embedded model's ViT reproduction had `"rationale": ", and "` and `"method": ", "`, which became an
    empty plan. Such a reply is asked for again with the reason, and one that never validates is left out
    (`IdeaAgent.propose`). The hypotheses asked for together are not held to this: on sat-heuristic the model
    answered "heuristic.py" as every method three times running, and the set is all stage 1 has there."""

    @field_validator("problem", "rationale", "method", "supporting_result", "refuting_result")
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

    hypotheses: list[Hypothesis] = Field(min_length=1, max_length=8)


def hypothesis_set_schema(n: int) -> type[HypothesisSet]:
    """`HypothesisSet` with at least `n` hypotheses: asked for three, the embedded model wrote one."""
    from pydantic import create_model

    return create_model(  # type: ignore[call-overload, no-any-return]
        "HypothesisSet", __base__=HypothesisSet, hypotheses=(list[Hypothesis], Field(min_length=n, max_length=8)))


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


class HypothesisScore(BaseModel):
    """One hypothesis' score on one criterion, in the comparative review."""

    hypothesis: int = Field(ge=1, le=8, description="the hypothesis' number as shown")
    score: int = Field(ge=1, le=5)


class CriterionReview(BaseModel):
    """One criterion across all hypotheses: what separates them (written first), then each one's score."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=120)] = Field(
        description="a few words: what separates the hypotheses on this criterion")
    scores: list[HypothesisScore] = Field(min_length=1, max_length=8)


REVIEWED = ("validity", "novelty", "feasibility", "significance")  # what the model scores; clarity is measured


class ComparativeReview(BaseModel):
    """The model's reply when all hypotheses are reviewed side by side, one criterion at a time, then ranked.
    Clarity is not asked for: copilot measures it (`copilot.idea.clarity`). (`review_schema(n)` fixes every list at
    n items, so grammar-constrained decoding cannot skip a hypothesis.)"""

    validity: CriterionReview
    novelty: CriterionReview
    feasibility: CriterionReview
    significance: CriterionReview
    ranking: list[int] = Field(min_length=1, max_length=8, description="the hypotheses' numbers, best first")

    def scores(self, clarity: list[Score]) -> list[Scores]:
        """The `Scores` of hypotheses 1..n (n = len(clarity), their measured clarity): by the numbers the review
        gives when they name each hypothesis once, else in the order given; each score's justification is its
        criterion's reason."""
        n = len(clarity)
        by_criterion = {}
        for criterion in REVIEWED:
            review: CriterionReview = getattr(self, criterion)
            entries = review.scores
            if sorted(e.hypothesis for e in entries) == list(range(1, n + 1)):
                entries = sorted(entries, key=lambda e: e.hypothesis)
            by_criterion[criterion] = [Score(score=e.score, justification=review.reason) for e in entries[:n]]
        return [Scores(clarity=clarity[i], **{c: by_criterion[c][i] for c in REVIEWED}) for i in range(n)]


def review_schema(n: int) -> type[ComparativeReview]:
    """`ComparativeReview` with exactly `n` scores per criterion and `n` numbers in the ranking."""
    from pydantic import create_model

    criterion = create_model(  # type: ignore[call-overload]
        f"CriterionReviewOf{n}", __base__=CriterionReview,
        scores=(list[HypothesisScore], Field(min_length=n, max_length=n)))
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"ComparativeReviewOf{n}", __base__=ComparativeReview, **{c: (criterion, ...) for c in REVIEWED},
        ranking=(list[int], Field(min_length=n, max_length=n, description="the hypotheses' numbers, best first")))


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
    review_rank: int | None = Field(
        default=None, description="its place in the comparative review's ranking (1 = best); breaks ties of total")
    review_number: int | None = Field(
        default=None, description="its number in the comparative review, which the review's reasons refer to")
    partial_input: bool = Field(
        default=False, description="stage 1 could read the input only in part (see the paper's notices)")


class RejectedHypothesis(BaseModel):
    """A hypothesis that breaks a rule of the problem: kept with the reasons, never ranked or tested."""

    hypothesis: Hypothesis
    reasons: list[str] = Field(min_length=1)
    reproduces_paper: bool = False


class ExperimentPlan(BaseModel):
    """The plan stage 2 implements."""

    hypothesis_title: Phrase
    datasets: list[Phrase] = Field(max_length=5)
    baselines: list[Phrase] = Field(max_length=5)
    metric: Phrase
    metric_direction: Literal["maximize", "minimize"]
    steps: list[Sentence] = Field(min_length=1, max_length=10, description=(
        "this experiment's steps in order, each naming the file, function and settings it changes; not numbered"))
    expected_outcome: Sentence
    compute_budget: Phrase = Field(description="e.g. 'minutes on 2 CPU cores'")
    workspace_files: list[Phrase] = Field(max_length=10, description="workspace files the plan changes or creates")
    broken_rules: list[str] = Field(default_factory=list, description=(
        "rules of the problem the plan's steps still break after it was asked once more (shown in idea.md)"))

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


def plan_schema(min_steps: int) -> type[ExperimentPlan]:
    """`ExperimentPlan` with at least `min_steps` steps: the embedded model's plans were one step, the hypothesis'
    method restated ("In smooth.py, replace the nested loops with vectorized operations")."""
    from pydantic import create_model

    return create_model(  # type: ignore[call-overload, no-any-return]
        "ExperimentPlan", __base__=ExperimentPlan,
        steps=(list[Sentence], Field(min_length=min_steps, max_length=10, description=(
            "this experiment's steps in order, each naming the file, function and settings it changes; not numbered"))))
