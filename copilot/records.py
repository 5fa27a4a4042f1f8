"""Typed records of a run: what each stage hands to the next, read and written through one API.

`RunRecords` is the run directory (`RunDir`) with a namespace per stage: `run.idea.hypotheses()` returns the ranked
hypotheses as `RankedHypothesis` values (or the record's default when the stage has not written it), and
`run.idea.plan.get_or_make(make)` is the "reuse if recorded" runner that makes `resume` natural: the value is read
when its file exists, else made, written, and returned. Nothing else in the stages parses these JSON files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from copilot.constraints import ConstraintSet
from copilot.execution.verify import Reexecution
from copilot.experiment.agent import EpisodeResult
from copilot.experiment.analyst import DataFindings
from copilot.idea.models import ExperimentPlan, Hypothesis, PaperAnalysis, RankedHypothesis
from copilot.paper.model import Paper
from copilot.retrieval.base import PaperRef
from copilot.rundir import RunDir

T = TypeVar("T")


class ChosenHypothesis(Hypothesis):
    """The hypothesis chosen at the gate (edited or not) and its rank among the ranked ones; the plan implements it."""

    rank: int = Field(0, ge=0)


class RelatedWorks(BaseModel):
    """The retrieval step's record: the queries asked, what could not be reached, and the works found."""

    queries: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    works: list[PaperRef] = Field(default_factory=list)


class EpisodeRecord(BaseModel):
    """Stage 2's implementation episode: the instruction, how it ended, how long it took. `purpose` is `repair` when
    the starter code did not run and the episode made it run (the plan is then implemented in stage 3)."""

    instruction: str
    purpose: Literal["implement", "repair"] = "implement"
    result: EpisodeResult
    duration_s: float = 0.0
    steps_total: int = 0


class ResourceList(BaseModel):
    """Stage 2's resources (`ResourceManager.save`): one record per cloned repository, model or dataset."""

    resources: list[dict[str, Any]] = Field(default_factory=list)


class RunInfo(BaseModel):
    """What a run is, as `run.json` records it when the run starts (other keys of `run.json` are ignored)."""

    model_config = ConfigDict(extra="ignore")

    task: str
    llm: str
    model: str = ""
    stages: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict, description="the resolved configuration")

    @property
    def seed(self) -> int | None:
        """The run's seed (`seed:` of the configuration), None when absent."""
        seed = self.config.get("seed")
        return int(seed) if isinstance(seed, int | str) and str(seed).lstrip("-").isdigit() else None


class Record(Generic[T]):
    """One JSON file of the run directory and the type of its content."""

    def __init__(self, run: RunDir, relative: str, kind: Any, default: Callable[[], T | None] = lambda: None) -> None:
        self.run = run
        self.relative = relative
        self.adapter: TypeAdapter[T] = TypeAdapter(kind)
        self.default = default

    @property
    def path(self) -> Any:
        """The file's path."""
        return self.run.path(self.relative)

    def exists(self) -> bool:
        """Whether the stage has written this record."""
        return self.run.exists(self.relative)

    def read(self) -> T:
        """The recorded value (the file must exist)."""
        return self.adapter.validate_json(self.path.read_bytes())

    def __call__(self) -> T | None:
        """The recorded value, or the record's default when nothing is recorded yet."""
        return self.read() if self.exists() else self.default()

    def write(self, value: T) -> T:
        """Record `value` (atomically) and return it."""
        self.run.write_json(self.relative, self.adapter.dump_python(value, mode="json"))
        return value

    def get_or_make(self, make: Callable[[], T]) -> T:
        """Reuse the recorded value, or make it, record it and return it."""
        return self.read() if self.exists() else self.write(make())


class IdeaRecords:
    """Stage 1's records under `idea/`."""

    def __init__(self, run: RunDir) -> None:
        self.paper: Record[Paper] = Record(run, "idea/paper.json", Paper)
        self.analysis: Record[PaperAnalysis] = Record(run, "idea/analysis.json", PaperAnalysis)
        self.related: Record[RelatedWorks] = Record(run, "idea/related.json", RelatedWorks)
        self.hypotheses: Record[list[RankedHypothesis]] = Record(run, "idea/hypotheses.json",
                                                                 list[RankedHypothesis], default=list)
        self.chosen: Record[ChosenHypothesis] = Record(run, "idea/chosen.json", ChosenHypothesis)
        self.plan: Record[ExperimentPlan] = Record(run, "idea/plan.json", ExperimentPlan)
        self.constraints: Record[ConstraintSet] = Record(run, "idea/constraints.json", ConstraintSet)

    def reproduction(self) -> Hypothesis | None:
        """The ranked hypothesis that reproduces the paper's method, or None."""
        return next((r.hypothesis for r in self.hypotheses() or [] if r.reproduces_paper), None)


class ExperimentRecords:
    """Stage 2's records under `experiment/`."""

    def __init__(self, run: RunDir) -> None:
        self.resources: Record[ResourceList] = Record(run, "experiment/resources.json", ResourceList)
        self.findings: Record[DataFindings] = Record(run, "experiment/data_analysis.json", DataFindings)
        self.episode: Record[EpisodeRecord] = Record(run, "experiment/episode.json", EpisodeRecord)


class ExecutionRecords:
    """Stage 3's records besides the attempts (which `copilot.execution.journal` keeps)."""

    def __init__(self, run: RunDir) -> None:
        self.reexecution: Record[Reexecution] = Record(run, "verify/reexecution.json", Reexecution)


class RunRecords(RunDir):
    """The run directory with its typed records, one namespace per stage."""

    def __init__(self, root: Any) -> None:
        super().__init__(root)
        self.idea = IdeaRecords(self)
        self.experiment = ExperimentRecords(self)
        self.execution = ExecutionRecords(self)
