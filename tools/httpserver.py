"""A real threaded HTTP server on 127.0.0.1: probe targets and webhook receivers for the tests and make demo.

``start_http_server()`` returns a running ``LocalHttpServer`` and a stop
function; the ``http_server`` fixture (tests/conftest.py) wraps it per test,
the end-to-end suite keeps one per session, and tools/demo.py runs its hosts and
webhook receiver on it. urllib3 is never mocked.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What the server answers on one path.

    ``responses`` is consumed in order, the last one repeating; each is
    (status, headers, body). ``delay`` seconds are slept before answering;
    ``handler`` overrides everything and writes the response itself (the request's body,
    already read, is its ``request_body``).
    """

    responses: list[tuple[int, dict[str, str], bytes]]
    delay: float = 0.0
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None
    calls: int = 0


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class LocalHttpServer:
    """A test HTTP server: ``route()`` paths, then read ``requests``."""

    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(
        self,
        path: str,
        status: int = 200,
        body: bytes | str = b"ok",
        headers: dict[str, str] | None = None,
        *,
        responses: list[tuple[int, dict[str, str], bytes | str]] | None = None,
        delay: float = 0.0,
        handler: Callable[[BaseHTTPRequestHandler], None] | None = None,
    ) -> str:
        """Register what ``path`` answers and return its full URL."""
        if responses is None:
            responses = [(status, headers or {}, body)]
        encoded = [(s, h, b.encode() if isinstance(b, str) else b) for s, h, b in responses]
        self.routes[path] = Route(responses=encoded, delay=delay, handler=handler)
        return self.url(path)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


def _make_handler(server: LocalHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with server.lock:
                server.requests.append(
                    RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
                )
                route = server.routes.get(self.path)
                if route is not None:
                    index = min(route.calls, len(route.responses) - 1)
                    route.calls += 1
            if route is None:
                self._send(404, {}, b"no route")
                return
            if route.delay:
                time.sleep(route.delay)
            if route.handler is not None:
                self.request_body = body  # already read: the handler finds it here
                route.handler(self)
                return
            status, headers, payload = route.responses[index]
            self._send(status, headers, payload)

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = _serve
        do_POST = _serve
        do_HEAD = _serve

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that does not print a traceback when a client hangs up.

    The probe closes connections early on purpose (body caps, redirects,
    timeouts); the stock handle_error would print those to the test output.
    """

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def start_http_server(port: int = 0) -> tuple[LocalHttpServer, Callable[[], None]]:
    """Start a server on 127.0.0.1:``port`` (0: a free one); return it and the function that stops it."""
    state = LocalHttpServer(host="127.0.0.1", port=port)
    httpd = _QuietServer(("127.0.0.1", port), _make_handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

    return state, stop
