"""Local servers for backend tests: the real llama.cpp OpenAI-compatible server, and a small HTTP server that speaks
the Anthropic Messages API wire format (a stand-in for api.anthropic.com, which tests never contact).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` on 127.0.0.1 with a GGUF model; waits until /v1/models answers."""

    def __init__(self, model_path: str, n_ctx: int = 2048, startup_s: float = 120) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        # The server logs a lot while loading; a file (not a pipe nobody reads) keeps it from blocking.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", str(n_ctx), "--model_alias", "tiny"],
            stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"llama.cpp server exited: {self.log.read()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("llama.cpp server did not become ready in time")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class MessagesAPIServer:
    """Answers POST /v1/messages from a list of (status, body) or a callable; records every request body."""

    def __init__(self, replies: list[tuple[int, dict[str, Any]]] | Callable[[dict[str, Any]], tuple[int, dict]]):
        self.replies = replies
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.headers.append(dict(self.headers))
                if callable(outer.replies):
                    status, payload = outer.replies(body)
                else:
                    status, payload = outer.replies.pop(0) if len(outer.replies) > 1 else outer.replies[0]
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()


def message(content: list[dict[str, Any]], stop: str = "end_turn", read: int = 0, write: int = 0) -> dict[str, Any]:
    """A Messages API response body."""
    return {"id": "msg_test", "type": "message", "role": "assistant", "model": "claude-test", "content": content,
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 20, "output_tokens": 7, "cache_read_input_tokens": read,
                      "cache_creation_input_tokens": write}}


def error(status: int, kind: str, text: str) -> tuple[int, dict[str, Any]]:
    """A Messages API error response."""
    return status, {"type": "error", "error": {"type": kind, "message": text}}


class FaultyServer:
    """An HTTP server on 127.0.0.1 that misbehaves on purpose, one scripted behaviour per request, for any path.

    Behaviours: `("json", status, body)` a well-formed reply; `("garbage", status)` a 200-style reply whose body is not
    JSON; `("truncate", body)` headers promising the whole body, then half of it and a closed connection; `("hang",
    seconds)` nothing at all until `seconds` pass. The last behaviour repeats once the list is used up.
    """

    def __init__(self, behaviours: list[tuple[Any, ...]]) -> None:
        self.behaviours = list(behaviours)
        self.requests: list[dict[str, Any]] = []
        self.released = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                outer.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                kind, *args = outer.behaviours.pop(0) if len(outer.behaviours) > 1 else outer.behaviours[0]
                if kind == "hang":
                    outer.released.wait(args[0])
                    self.close_connection = True
                    return
                if kind == "garbage":
                    data, status = b'{"id": "chatcmpl-1", "choices": [{"mess', args[0]
                elif kind == "truncate":
                    data, status = json.dumps(args[0]).encode(), 200
                else:
                    data, status = json.dumps(args[1]).encode(), args[0]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if kind == "truncate":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def chat_completion(text: str) -> dict[str, Any]:
    """A Chat Completions response body."""
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}
