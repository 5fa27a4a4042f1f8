"""Command-line entry point: `copilot ...` and `python -m copilot ...`.

It only composes the configuration (Hydra) and hands over to `copilot.app.run`. It is also the error boundary: a
`UserError` becomes one line on stderr and exit code 2; `COPILOT_DEBUG=1` shows the full traceback instead. Hydra's
own composition errors (an unknown option such as `llm=nope`, a mistyped key such as `idea.num_hypothesez=3`, an
override that does not parse) are found by composing the configuration once before Hydra does (`composition_error`)
and become the same kind of line, naming the bad key or option and the valid choices.

Besides Hydra overrides it understands:
- `resume=<run dir>`: re-compose that run's recorded overrides, then yours (yours win), into the same directory;
- `copilot import-mlagentbench <folder> [--name NAME]`: convert an MLAgentBench-style task.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path

import hydra
import yaml
from dotenv import load_dotenv
from omegaconf import DictConfig

from copilot.errors import UserError
from copilot.llm.base import LLMError

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def _fail(message: str) -> None:
    print(f"copilot: error: {message}", file=sys.stderr)
    sys.exit(2)


def _resume_overrides(argv: list[str]) -> list[str]:
    """Rewrite `resume=<dir>` into the recorded overrides of that run plus the new ones and the run directory."""
    resume = [arg for arg in argv if arg.startswith("resume=")]
    if not resume:
        return argv
    run_dir = Path(resume[-1].split("=", 1)[1]).expanduser()
    recorded = run_dir / ".hydra" / "overrides.yaml"
    if not recorded.is_file():
        raise UserError(f"resume={run_dir}: not a run directory (no {recorded})")
    previous = yaml.safe_load(recorded.read_text()) or []
    new = [arg for arg in argv if not arg.startswith("resume=")]
    new_keys = {arg.split("=", 1)[0].lstrip("+~") for arg in new if "=" in arg}
    kept = [arg for arg in previous if arg.split("=", 1)[0].lstrip("+~") not in new_keys | {"resume", "hydra.run.dir"}]
    history = run_dir / ".hydra" / "history" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    history.mkdir(parents=True, exist_ok=True)
    for name in ("config.yaml", "hydra.yaml", "overrides.yaml"):
        if (run_dir / ".hydra" / name).is_file():
            shutil.copy2(run_dir / ".hydra" / name, history / name)
    return [*kept, *new, f"resume={run_dir.resolve()}", f"hydra.run.dir={run_dir.resolve()}"]


LEFT_TO_HYDRA = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun",
                 "--info", "-i", "--shell-completion", "-sc"}
FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p"}
NOT_OVERRIDABLE = re.compile(r"Could not override '([^']+)'")
AMBIGUOUS = re.compile(r"Ambiguous value for argument '([^']+)'")


def _choices(names: object) -> str:
    return ", ".join(str(name) for name in names)  # type: ignore[attr-defined]


def _compose(overrides: list[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3", job_name="copilot"):
        return compose("config", overrides=overrides, return_hydra_config=True)


def _describe_composition_error(error: Exception, overrides: list[str]) -> str:
    """One line for a Hydra composition error: the override at fault and what would be valid instead."""
    from hydra.errors import HydraException, MissingConfigException, OverrideParseException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    first = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, option = str(error.missing_cfg_file).rpartition("/")
        given = next((o for o in overrides if o.lstrip("+~").split("=", 1)[0] == group), f"{group}={option}")
        if error.options:
            return f"{given}: no option '{option}' in group {group}. Available options: {_choices(error.options)}"
        return f"{given}: {first}"
    if isinstance(error, OverrideParseException):
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parser = OverridesParser.create()
        for override in overrides:
            try:
                parser.parse_overrides([override])
            except OverrideParseException:
                return f"{override}: not a valid override ({first}); write key=value (see docs: override grammar)"
        return f"invalid override ({first})"
    if match := AMBIGUOUS.search(str(error)):
        given = match.group(1)
        key, _, value = given.partition("=")
        return (f"{given}: a comma makes it a sweep; add -m (--multirun) to sweep over it, or write {key}=[{value}] "
                f"for a list or {key}='{value}' for a string")
    if match := NOT_OVERRIDABLE.search(str(error)):
        key = match.group(1)
        given = next((o for o in overrides if o.split("=", 1)[0] == key), key)
        missing = str(getattr(error.__cause__, "full_key", "") or key)  # the first key of the path that is unknown
        parent, _, name = missing.rpartition(".")
        try:
            base = _compose([o for o in overrides if o.split("=", 1)[0] != key])
            node = OmegaConf.select(base, parent) if parent else base
        except (HydraException, OmegaConfBaseException):  # only lists the valid keys; the line names the bad one
            node = None
        keys = [str(k) for k in node] if node is not None and OmegaConf.is_dict(node) else []
        if parent and not keys:
            return f"{given}: unknown key '{missing}' ({first.rstrip('.')})"
        where = f" in '{parent}'" if parent else ""
        if keys and name not in keys:
            close = difflib.get_close_matches(name, keys, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            valid = _choices(k for k in keys if parent or k != "hydra")
            return (f"{given}: unknown key '{name}'{where}{hint}; valid keys: {valid}; to add a new key write "
                    f"+{given}")
        return f"{given}: {first.rstrip('.')}"
    return f"the configuration could not be composed: {first}"


def _check_sweeps(overrides: list[str]) -> list[list[str]]:
    """The override lists to compose for a multirun: every sweep at its first value, then each other value of each
    sweep alone (as many compositions as values, not their product)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    values: list[list[str | None]] = []
    for text, override in zip(overrides, parsed, strict=True):
        prefix = text[: len(text) - len(text.lstrip("+~"))]
        if override.is_sweep_override():
            try:
                choices: list[str | None] = [f"{prefix}{override.key_or_group}={value}"
                                             for value in override.sweep_string_iterator()]
            except Exception:  # a sweep that cannot be enumerated (glob, interval) is left to Hydra
                choices = []
            values.append(choices or [None])
        else:
            values.append([text])
    base = [choices[0] for choices in values]
    lists = [[o for o in base if o is not None]]
    for index, choices in enumerate(values):
        for value in choices[1:]:
            lists.append([o for o in [*base[:index], value, *base[index + 1:]] if o is not None])
    return lists


def composition_error(argv: list[str]) -> str | None:
    """Why Hydra would refuse these command-line arguments, as one line; None when they compose (or when they use
    Hydra options this check leaves to Hydra: another config folder or name, shell completion, --info)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if any(arg.split("=", 1)[0] in LEFT_TO_HYDRA for arg in argv):
        return None
    overrides = [arg for arg, before in zip(argv, ["", *argv], strict=False)
                 if not arg.startswith("-") and before not in FLAGS_WITH_VALUE]
    multirun = bool({"-m", "--multirun"} & set(argv))
    try:
        for candidate in _check_sweeps(overrides) if multirun else [overrides]:
            _compose(candidate)
    except (HydraException, OmegaConfBaseException) as error:
        return _describe_composition_error(error, overrides)
    return None


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from copilot.app import run

    try:
        run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except UserError as error:
        if os.environ.get("COPILOT_DEBUG"):
            raise
        _fail(str(error))
    except LLMError as error:  # the model or its service failed after bounded retries: not a bug of ours
        if os.environ.get("COPILOT_DEBUG"):
            raise
        _fail(f"{type(error).__name__}: {error} (logs kept in {HydraConfig.get().runtime.output_dir})")
    except KeyboardInterrupt:
        print("copilot: interrupted; logs and results written so far are kept", file=sys.stderr)
        sys.exit(130)


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    if argv and argv[0] == "import-mlagentbench":
        from copilot.importers.mlagentbench import main as import_main

        try:
            sys.exit(import_main(argv[1:]))
        except UserError as error:
            _fail(str(error))
    if argv and argv[0] == "view":  # copilot view <run dir | sweep dir>: the run page (copilot/view)
        from copilot.view.cli import main as view_main

        try:
            sys.exit(view_main(argv[1:]))
        except UserError as error:
            _fail(str(error))
    informational = {"--help", "-h", "--hydra-help", "--info", "--version", "--cfg", "-c", "--shell-completion"}
    if not informational & set(argv) and not any(a.split("=", 1)[0].lstrip("+") in ("task", "resume") for a in argv):
        from copilot.task import available_tasks

        choices = ", ".join(available_tasks(Path.cwd() / "problems")) or "(none under ./problems)"
        _fail(f"no task given: add task=<name> (available: {choices}) or resume=<run dir>")
    load_dotenv(Path.cwd() / ".env", override=False)
    try:
        sys.argv = [sys.argv[0], *_resume_overrides(argv)]
    except UserError as error:
        _fail(str(error))
    if (problem := composition_error(sys.argv[1:])) is not None:
        if os.environ.get("COPILOT_DEBUG"):
            _compose([arg for arg in sys.argv[1:] if not arg.startswith("-")])  # raises with Hydra's own message
        _fail(problem)
    _hydra_main()
