"""Command-line entry point: `copilot ...` and `python -m copilot ...`.

It only composes the configuration (Hydra) and hands over to `copilot.app.run`. It is also the error boundary: a
`UserError` becomes one line on stderr and exit code 2; `COPILOT_DEBUG=1` shows the full traceback instead.

Besides Hydra overrides it understands:
- `resume=<run dir>`: re-compose that run's recorded overrides, then yours (yours win), into the same directory;
- `copilot import-mlagentbench <folder> [--name NAME]`: convert an MLAgentBench-style task.
"""

from __future__ import annotations

import os
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
    _hydra_main()
