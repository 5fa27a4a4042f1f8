"""The experiment's Python interpreter as the sandbox needs to know it: the folders it runs from (which the
sandbox's filesystem view shows, read-only), and where a task's `masked_sources` are installed.

Both are asked of the interpreter itself, once, in isolated mode (`python -I`, a temporary folder as its working
directory), with `PROBE`, so the answer holds for a virtualenv, a conda environment, a system Python, or the Python
of a Docker image (`DockerSandbox` runs the same probe in its image). A masked source is
- a dotted name: the module's file or the package's folder (`importlib.util.find_spec`), and the same path relative
  to its site-packages in every other site-packages or dist-packages folder of the machine, so that a second copy of
  the package (a system one) does not give the data away;
- a relative path: looked up in each of those folders (`sklearn/datasets/data/digits.csv.gz`);
- an absolute path (or one starting with ~): taken as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from copilot.errors import UserError

PROBE = r"""
import glob, importlib.util, json, os, site, sys
sources = sys.argv[1:]
prefixes = sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
roots = [p for p in site.getsitepackages() if os.path.isdir(p)]
for prefix in [*prefixes, "/usr", "/usr/local"]:
    for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages"):
        roots += [p for p in glob.glob(os.path.join(prefix, pattern)) if os.path.isdir(p)]
roots = list(dict.fromkeys(os.path.realpath(p) for p in roots))
masked, missing = [], []
for source in sources:
    if source.startswith(("/", "~")):
        candidates = [os.path.expanduser(source)]
    elif "/" in source:
        candidates = [os.path.join(root, source) for root in roots]
    else:
        try:
            spec = importlib.util.find_spec(source)
        except Exception:  # a parent package that fails to import, or is not a package
            spec = None
        located = []
        if spec is not None and spec.submodule_search_locations:
            located = [p for p in spec.submodule_search_locations if os.path.isdir(p)]
        elif spec is not None and spec.origin and os.path.isfile(spec.origin):
            located = [spec.origin]
        candidates = list(located)
        for path in map(os.path.realpath, located):
            home = next((root for root in roots if path.startswith(root + os.sep)), None)
            if home is not None:
                candidates += [os.path.join(root, os.path.relpath(path, home)) for root in roots]
    found = list(dict.fromkeys(os.path.realpath(p) for p in candidates if os.path.lexists(p)))
    masked += found
    if not found:
        missing.append(source)
masked = list(dict.fromkeys(masked))
print(json.dumps({"prefixes": prefixes, "executable": os.path.realpath(sys.executable), "site": roots,
                  "masked": masked, "masked_dirs": [p for p in masked if os.path.isdir(p)], "missing": missing}))
"""


class Interpreter(BaseModel):
    """Where an interpreter lives (its prefixes: a virtualenv's and the one it was made from; the real executable;
    its site-packages folders), and the paths of the masked sources it was asked about."""

    prefixes: list[Path]
    executable: Path
    site: list[Path]
    masked: list[Path] = []
    masked_dirs: list[Path] = []
    """The masked paths that are folders (an empty folder covers them; /dev/null covers a file)."""
    missing: list[str] = []
    """Masked sources that name nothing installed."""

    def folders(self) -> list[Path]:
        """The folders the interpreter needs to run and import its packages: its prefixes and the executable's."""
        return list(dict.fromkeys([*self.prefixes, self.executable.parent]))


def parse_probe(stdout: str) -> Interpreter:
    """The probe's answer (its last line)."""
    return Interpreter.model_validate(json.loads(stdout.strip().splitlines()[-1]))


def probe_interpreter(python: Path, masked_sources: Sequence[str] = ()) -> Interpreter:
    """Ask `python` where it lives and where `masked_sources` are installed."""
    with tempfile.TemporaryDirectory(prefix="copilot-probe-") as folder:
        try:
            done = subprocess.run([str(python), "-I", "-c", PROBE, *masked_sources], capture_output=True, text=True,
                                  timeout=120, cwd=folder, env={"PATH": os.defpath, "HOME": folder})
        except (OSError, subprocess.TimeoutExpired) as error:
            raise UserError(f"sandbox.python: could not run {python} ({error})") from None
    if done.returncode != 0:
        raise UserError(f"sandbox.python: {python} failed to describe itself: {done.stderr.strip()[-300:]}")
    return parse_probe(done.stdout)
