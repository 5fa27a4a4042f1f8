"""The values stage 1 produces; each is written to `idea/*.json` and read by the next stage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class PaperAnalysis(BaseModel):
    """What the model extracts from the paper before anything else."""

    research_tasks: list[str] = Field(description="the tasks the paper addresses, one short phrase each")
    gaps: list[str] = Field(description="limitations or open questions the paper leaves, one sentence each")
    keywords: list[str] = Field(description="3 to 8 search keywords for related work")


class Hypothesis(BaseModel):
    """A testable research hypothesis."""

    title: str
    problem: str = Field(description="the problem or gap it addresses")
    rationale: str = Field(description="why it should work")
    method: str = Field(description="what to change or try, concretely")
    supporting_result: str = Field(description="the measured result that would support it")
    refuting_result: str = Field(description="the measured result that would refute it")


class HypothesisSet(BaseModel):
    """The model's reply when asked for hypotheses."""

    hypotheses: list[Hypothesis]


class NoveltyJudgement(BaseModel):
    """The model's judgement of novelty against the closest retrieved works."""

    novel: bool
    closest_work_ids: list[str] = Field(description="ids of the retrieved works most similar to the hypothesis")
    explanation: str


class Score(BaseModel):
    """A 1-5 score with a one-line justification."""

    score: int = Field(ge=1, le=5)
    justification: str


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


class ExperimentPlan(BaseModel):
    """The plan stage 2 implements."""

    hypothesis_title: str
    datasets: list[str]
    baselines: list[str]
    metric: str
    metric_direction: Literal["maximize", "minimize"]
    steps: list[str] = Field(description="ordered, concrete implementation steps")
    expected_outcome: str
    compute_budget: str = Field(description="e.g. 'minutes on 2 CPU cores'")
    workspace_files: list[str] = Field(description="workspace files the plan changes or creates")
