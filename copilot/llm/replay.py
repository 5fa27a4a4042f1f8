"""Replay: answers from a recorded JSONL file, in order, for reproducible runs and for tests.

The file is either a previous run's `agent_log/full_log.jsonl` (records carry the request and the reply; failed calls
are skipped) or a hand-written script, one object per line:

    {"reply": "text or JSON"}                                  # any request
    {"reply": "...", "match": "substring of the last message"}  # checked
    {"tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}], "reply": ""}

A recorded request is compared with the live one (roles and contents of every message); a difference, or a request
after the last record, raises `ReplayError` with the record number and what differs. Scripted replies are canned
test inputs: a replayed run's outputs say so through `model = "replay:<file>"` in every log record.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from copilot.errors import UserError
from copilot.llm.base import Completion, Message, ReplayError, Request, ToolCall, Usage


def _shorten(text: str, limit: int = 160) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ReplayBackend:
    """Returns recorded replies in order; `strict` compares recorded requests with live ones."""

    def __init__(self, path: str, strict: bool = True) -> None:
        self.source = Path(path).expanduser()
        if not self.source.is_file():
            raise UserError(f"replay file '{path}' does not exist")
        self.records = self._load(self.source)
        self.strict = strict
        self.position = 0
        self.model = f"replay:{self.source.name}"

    @staticmethod
    def _load(path: Path) -> list[dict[str, Any]]:
        records = []
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise UserError(f"replay file '{path}' line {number}: not JSON ({error.msg})") from None
                if "error" in record and "reply" not in record:
                    continue  # a failed call of a recorded run produced no reply
                if "reply" not in record and "tool_calls" not in record:
                    raise UserError(f"replay file '{path}' line {number}: no 'reply' or 'tool_calls' field")
                records.append(record)
        return records

    def generate(self, request: Request) -> Completion:
        """The next recorded reply, after checking the request against the record."""
        if self.position >= len(self.records):
            raise ReplayError(
                f"replay file '{self.source}' is exhausted: {len(self.records)} replies recorded, a further request "
                f"arrived (last message: {_shorten(request.messages[-1].content)!r})"
            )
        record = self.records[self.position]
        self.position += 1
        if self.strict:
            self._check(record, request.messages)
        reply = record.get("reply")
        if isinstance(reply, dict):  # a full_log record
            text = reply.get("text") or ""
            calls = reply.get("tool_calls") or []
        else:
            text = reply if isinstance(reply, str) else json.dumps(reply)
            calls = record.get("tool_calls") or []
        tool_calls = [
            ToolCall(
                id=c.get("id") or f"call_{uuid.uuid4().hex[:12]}", name=c["name"], arguments=c.get("arguments", {})
            )
            for c in calls
        ]
        usage = Usage(**record["usage"]) if isinstance(record.get("usage"), dict) else Usage()
        return Completion(text=text, tool_calls=tool_calls, usage=usage, model=self.model, finish_reason="replay")

    def _check(self, record: dict[str, Any], messages: list[Message]) -> None:
        number = self.position
        if "match" in record and record["match"] not in messages[-1].content:
            raise ReplayError(
                f"replay record {number} of '{self.source}' expects the last message to contain "
                f"{record['match']!r}, got {_shorten(messages[-1].content)!r}"
            )
        recorded = (record.get("request") or {}).get("messages")
        if recorded is None:
            return
        live = [m.model_dump(mode="json", exclude_none=True) for m in messages]
        if len(recorded) != len(live):
            raise ReplayError(
                f"replay record {number} of '{self.source}' was made with {len(recorded)} messages, "
                f"the request has {len(live)}"
            )
        for index, (old, new) in enumerate(zip(recorded, live, strict=True)):
            if old.get("role") != new.get("role") or old.get("content") != new.get("content"):
                raise ReplayError(
                    f"replay record {number} of '{self.source}' differs at message {index} ({new.get('role')}): "
                    f"recorded {_shorten(str(old.get('content')))!r}, got {_shorten(str(new.get('content')))!r}"
                )
