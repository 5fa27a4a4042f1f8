"""The run directory: the single source of truth of a run (see docs/architecture.md).

`RunDir` knows the layout, writes JSON atomically (a reader never sees half a file) and hands out append-only JSONL
writers that flush every record, so a run killed at any moment loses at most the record being written.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

LAYOUT = ("agent_log", "env_log", "env_log/traces", "idea", "experiment", "attempts")


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with milliseconds, for log records."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


class JsonlWriter:
    """Appends one JSON object per line to a file and flushes after each, so every complete line is parseable.

    A line left half-written by a kill is repaired on open: the torn tail is moved to `<name>.torn` and the file is
    truncated to its last complete line, so appends never glue a new record onto a broken one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self._fh = path.open("a", encoding="utf-8")

    def _repair_torn_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1
        with self.path.with_name(self.path.name + ".torn").open("ab") as torn:
            torn.write(data[cut:] + b"\n")
        with self.path.open("r+b") as fh:
            fh.truncate(cut)

    def write(self, record: BaseModel | dict[str, Any]) -> None:
        """Append `record` as one line and flush it to the operating system."""
        line = json.dumps(_to_jsonable(record), ensure_ascii=False, default=str)
        self._fh.write(line + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Close the file; further writes raise."""
        self._fh.close()


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file, skipping blank lines."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def write_json_atomic(path: Path, value: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Write `value` as indented JSON through a temporary file and a rename, so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    else:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunDir:
    """The folder of one run, `logs/<task>/<timestamp>/`, with the layout of DESIGN.md."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        for sub in LAYOUT:
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, JsonlWriter] = {}

    @property
    def full_log(self) -> Path:
        """Every LLM call, one JSON object per line."""
        return self.root / "agent_log" / "full_log.jsonl"

    @property
    def main_log(self) -> Path:
        """The human-readable narrative of the run."""
        return self.root / "agent_log" / "main_log"

    @property
    def trace(self) -> Path:
        """Every action and observation, in order (JSON Lines)."""
        return self.root / "env_log" / "trace.jsonl"

    def path(self, *parts: str) -> Path:
        """A path inside the run directory."""
        return self.root.joinpath(*parts)

    def jsonl(self, relative: str) -> JsonlWriter:
        """The shared append-only writer for `relative` (one per file per process)."""
        if relative not in self._writers:
            self._writers[relative] = JsonlWriter(self.root / relative)
        return self._writers[relative]

    def write_json(self, relative: str, value: BaseModel | dict[str, Any] | list[Any]) -> Path:
        """Atomically write `value` to `relative` and return the path."""
        target = self.root / relative
        write_json_atomic(target, value)
        return target

    def read_json(self, relative: str) -> Any:
        """Parse the JSON file at `relative`."""
        return json.loads((self.root / relative).read_text(encoding="utf-8"))

    def exists(self, relative: str) -> bool:
        """Whether `relative` exists in the run directory."""
        return (self.root / relative).exists()

    def attach_main_log(self, logger: logging.Logger) -> logging.Handler:
        """Copy `logger`'s records into `agent_log/main_log`, one flushed line each."""
        handler = logging.FileHandler(self.main_log, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        return handler

    def close(self) -> None:
        """Close every JSONL writer."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
