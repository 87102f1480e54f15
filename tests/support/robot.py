"""A local HTTP server standing in for a group robot or a webhook receiver: it records every
request and answers from a script (status, JSON body), by default DingTalk's success answer;
and ``render``, what a chat client could make of a robot's markdown."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from markdown_it import MarkdownIt

# More than DingTalk or WeCom render: CommonMark with GFM tables and strikethrough, raw HTML
# passed through, and bare addresses turned into links.
_PERMISSIVE = MarkdownIt("gfm-like", {"linkify": True, "html": True})


def render(markdown: str) -> str:
    """The HTML a permissive markdown renderer makes of a robot message."""
    return _PERMISSIVE.render(markdown)


class Robot:
    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answers: list[tuple[int, object]] = []
        self.default: tuple[int, object] = (200, {"errcode": 0, "errmsg": "ok"})
        self.base = ""

    def url(self, path: str = "/hook") -> str:
        return f"{self.base}{path}"


@contextlib.contextmanager
def serve() -> Iterator[Robot]:
    state = Robot()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            parts = urlsplit(self.path)
            state.received.append(
                {
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
            )
            status, answer = state.answers.pop(0) if state.answers else state.default
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
