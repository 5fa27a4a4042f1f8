"""The values stage 1 produces; each is written to `idea/*.json` and read by the next stage."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

# Bounded strings and lists keep grammar-constrained local models from rambling past their token budget.
Phrase = Annotated[str, StringConstraints(min_length=1, max_length=160)]
Sentence = Annotated[str, StringConstraints(min_length=1, max_length=400)]
Paragraph = Annotated[str, StringConstraints(min_length=1, max_length=800)]


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
    method: Paragraph = Field(description="what to change or try, concretely")
    supporting_result: Sentence = Field(description="the measured result that would support it")
    refuting_result: Sentence = Field(description="the measured result that would refute it")


class HypothesisSet(BaseModel):
    """The model's reply when asked for hypotheses."""

    hypotheses: list[Hypothesis] = Field(min_length=1, max_length=8)


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


class ExperimentPlan(BaseModel):
    """The plan stage 2 implements."""

    hypothesis_title: Phrase
    datasets: list[Phrase] = Field(max_length=5)
    baselines: list[Phrase] = Field(max_length=5)
    metric: Phrase
    metric_direction: Literal["maximize", "minimize"]
    steps: list[Sentence] = Field(min_length=1, max_length=10, description="ordered, concrete implementation steps")
    expected_outcome: Sentence
    compute_budget: Phrase = Field(description="e.g. 'minutes on 2 CPU cores'")
    workspace_files: list[Phrase] = Field(max_length=10, description="workspace files the plan changes or creates")
