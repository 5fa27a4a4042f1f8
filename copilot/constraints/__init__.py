"""The research problem's hard rules ("using only the numpy library", "never read the csv files directly"): what they
are, where they come from, and the static checks that tell whether text or code breaks one.

A rule comes from task.yaml's `constraints` or from the problem text (deterministic extraction of the common
phrasings; an optional structured LLM pass for the rest, recorded as `source="llm"` and kept only when it quotes the
problem). Stage 1 rejects hypotheses that break one (`text_violations`) or that change a read-only file
(`read_only_edits`); stage 2 and 3 put the rules in every implementation prompt (`prompt_lines`) and mark an
attempt whose code breaks one `invalid` (`violations`).

The code checks are static (`ast`): imports (`import x`, `from x import y`, `importlib.import_module("x")`,
`__import__("x")` with literal names) and reads of files whose path is a literal (`open`, `pd.read_csv`, `np.load`,
`Path(...).read_text()`, ...). A comment or a string that names a library is not an import, the standard library and
the workspace's own modules are always allowed, and what the starter code itself does is allowed by the task (a
MLAgentBench problem says "never read any csv files directly" of a starter that reads its csv files with pandas: the
rule is about the agent looking at the data, not about the code the task gave). Paths built at run time are not
followed; the checks are precise rather than complete.
"""


from copilot.constraints.check import (
    attempt_violations,
    not_experiment_code,
    permitted_packages,
    read_only_edits,
    starter_imports,
    starter_reads,
    text_violations,
    violations,
)
from copilot.constraints.extract import StatedRules, constraints_for, extract_constraints, unexplained_rule_sentences
from copilot.constraints.model import Constraint, ConstraintSet, Kind, Source, prompt_lines
from copilot.constraints.vocabulary import LIBRARY_NAMES, library_modules, mentioned_modules

__all__ = ["LIBRARY_NAMES", "Constraint", "ConstraintSet", "Kind", "Source", "StatedRules", "attempt_violations",
           "constraints_for", "extract_constraints", "library_modules", "mentioned_modules", "not_experiment_code",
           "permitted_packages", "prompt_lines", "read_only_edits", "starter_imports", "starter_reads",
           "text_violations", "unexplained_rule_sentences", "violations"]
