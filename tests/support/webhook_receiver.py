"""A webhook receiver for end-to-end tests, run as its own process: records every request
(headers, raw body, when) as a JSON line, answers 500 to the first N, or sleeps first.

    python -m tests.support.webhook_receiver --port 8123 --log requests.jsonl --fail-first 2
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args()
    lock = threading.Lock()
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                seen[0] += 1
                number = seen[0]
            status = 500 if number <= args.fail_first else 200
            if args.sleep:
                time.sleep(args.sleep)
            record = {
                "n": number, "at": received, "path": self.path, "status": status,
                "headers": {k: v for k, v in self.headers.items() if k.lower().startswith("x-")},
                "host": self.headers.get("Host"),
                "body": base64.b64encode(body).decode(),
            }  # fmt: skip
            with lock, open(args.log, "a") as log:
                log.write(json.dumps(record) + "\n")
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the sender gave up waiting (a timeout test)
                pass

        def do_GET(self) -> None:  # noqa: N802  (readiness probe)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
