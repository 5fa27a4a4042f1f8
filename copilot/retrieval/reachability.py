"""Whether an online source can be reached at all, decided in about two seconds, before any HTTP request is made.

Offline, an HTTP client learns that a service is unreachable slowly: a resolver that gets no answer retries for
several seconds per name, and a client with retries, or one request per query, repeats that wait (arXiv took about
30 s to be declared unreachable on a machine without network). `probe` resolves the host once, under a deadline,
and opens one TCP connection to it under the same deadline; a source that fails it is offline for the rest of the
run. When a proxy is configured for the URL (`HTTPS_PROXY` and friends), the proxy is probed instead.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from copilot.retrieval.base import RetrieverUnavailable

Resolver = Callable[..., list[Any]]


def _offline(detail: str) -> RetrieverUnavailable:
    return RetrieverUnavailable("offline", detail, offline=True)


def _endpoint(url: str) -> tuple[str, int]:
    """The host and port a request to `url` really connects to: the URL's own, or its proxy's."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxied = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return proxied.hostname or "", proxied.port or (443 if proxied.scheme == "https" else 80)
    return host, parts.port or (443 if parts.scheme == "https" else 80)


def _resolve(host: str, port: int, timeout_s: float, resolver: Resolver) -> list[Any]:
    """`resolver(host, port)` under a deadline. The lookup runs in a daemon thread, because `getaddrinfo` has no
    timeout of its own and cannot be interrupted; a lookup still running at the deadline is left to finish alone."""
    result: dict[str, Any] = {}

    def lookup() -> None:
        try:
            result["addresses"] = resolver(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            result["error"] = error

    worker = threading.Thread(target=lookup, name=f"resolve-{host}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise _offline(f"{host}: no answer from the name resolver within {timeout_s:g} s")
    if "error" in result:
        error = result["error"]
        raise _offline(f"{host} does not resolve ({type(error).__name__}: {error})")
    return list(result["addresses"])


def probe(url: str, timeout_s: float = 2.0, resolver: Resolver = socket.getaddrinfo) -> None:
    """Return when `url`'s host resolves and accepts a TCP connection within `timeout_s` in all; else raise
    `RetrieverUnavailable` marked offline (a name that does not resolve, a connection refused or unanswered)."""
    host, port = _endpoint(url)
    if not host:
        raise RetrieverUnavailable("misconfigured", f"{url!r} is not a URL with a host")
    deadline = time.monotonic() + timeout_s
    addresses = _resolve(host, port, timeout_s, resolver)
    last: OSError | None = None
    for family, kind, proto, _, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        with socket.socket(family, kind, proto) as connection:
            connection.settimeout(left)
            try:
                connection.connect(address)
                return
            except OSError as error:
                last = error
    if last is None or isinstance(last, TimeoutError | socket.timeout):
        raise _offline(f"{host}:{port}: no connection within {timeout_s:g} s")
    raise _offline(f"{host}:{port}: {type(last).__name__}: {last}")


class Reachability:
    """A source's one probe per run: the first `require` probes `url`, later ones repeat its outcome at once."""

    def __init__(self, url: str, timeout_s: float = 2.0, resolver: Resolver = socket.getaddrinfo) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.resolver = resolver
        self._outcome: RetrieverUnavailable | None = None
        self._probed = False

    def require(self) -> None:
        """Raise `RetrieverUnavailable` when the source is unreachable (probed once)."""
        if not self._probed:
            self._probed = True
            try:
                probe(self.url, self.timeout_s, self.resolver)
            except RetrieverUnavailable as error:
                self._outcome = error
        if self._outcome is not None:
            raise self._outcome
