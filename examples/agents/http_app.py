"""A support-reply agent as a small HTTP service, for goalctl's ``http`` agent.

    goalctl run scenarios/support-reply-http.md     # goalctl starts it (`serve`), or:
    python3 examples/agents/http_app.py --port 8765  # and point the scenario's url at it

goalctl POSTs each case's document (goal, case input, rendered prompts) to ``/reply`` and
reads the output at the JSON Pointer ``/reply`` of the answer. The model calls go through
goalctl's gateway: its URL and this case's key arrive in the ``X-Goalctl-Gateway-Url`` and
``X-Goalctl-Gateway-Key`` headers, so the call is metered and budgeted, lands in the run's
transcript, and is answered offline by the scenario's scripted ``responses``. A service in
production would use its own model credentials when those headers are absent.

Standard library only, apart from the SDK: one thread per request, 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic

MODEL = "claude-haiku-4-5"  # the gateway answers with the scenario's model whatever this says
MAX_BODY_BYTES = 1024 * 1024


class ReplyHandler(BaseHTTPRequestHandler):
    server_version = "support-reply/1.0"

    def do_POST(self) -> None:
        if self.path != "/reply":
            self.send_json(404, {"error": f"no such endpoint {self.path!r}; POST /reply"})
            return
        base_url = self.headers.get("X-Goalctl-Gateway-Url")
        key = self.headers.get("X-Goalctl-Gateway-Key")
        if not base_url or not key:
            self.send_json(400, {"error": "no X-Goalctl-Gateway-Url and X-Goalctl-Gateway-Key"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_json(413, {"error": f"a case document is at most {MAX_BODY_BYTES} bytes"})
            return
        try:
            prompt = json.loads(self.rfile.read(length))["prompt"]
            system, user = str(prompt["system"]), str(prompt["user"])
        except (ValueError, KeyError, TypeError) as exc:
            self.send_json(400, {"error": f"not a case document: {exc}"})
            return
        try:
            with anthropic.Anthropic(base_url=base_url, api_key=key) as client:
                reply = client.messages.create(
                    model=MODEL,
                    max_tokens=500,
                    system=system,
                    messages=[{"role": "user", "content": user}],
                )
        except anthropic.APIStatusError as exc:
            # A refusal (a budget, an unknown key) is passed on as it is: goalctl retries only
            # 429 and 5xx answers, and retrying a refusal cannot help.
            status = exc.status_code if 400 <= exc.status_code < 500 else 502
            self.send_json(status, {"error": f"the model call failed: {exc}"})
            return
        except anthropic.APIConnectionError as exc:
            self.send_json(502, {"error": f"the model is unreachable: {exc}"})
            return
        text = "".join(block.text for block in reply.content if block.type == "text")
        self.send_json(200, {"reply": text, "model": reply.model})

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def make_server(port: int = 0) -> ThreadingHTTPServer:
    """The service on 127.0.0.1:``port`` (0: a free port, see ``server_address``)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), ReplyHandler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # $PORT is how goalctl's `serve` (and most hosting platforms) say where to listen.
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8765))
    server = make_server(parser.parse_args().port)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/reply", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
