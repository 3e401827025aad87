# SPDX-License-Identifier: Apache-2.0
"""A seeded fault proxy between the syncds and MLflow that also counts, at
the wire, the metric points it forwards and when MLflow acknowledged them."""

import http.client
import http.server
import json
import random
import threading
import time
from typing import List, Tuple


class FaultProxy:
    """Forwards HTTP to 127.0.0.1:upstream. With probability `rate` a request
    meets a fault: a 503 without forwarding, a reset before forwarding, a
    stall of 1–4 s, or an answer lost after MLflow processed the request
    (the one case that makes a client send the same points twice)."""

    def __init__(self, upstream_port: int, seed: int = 0, rate: float = 0.0):
        self.upstream = upstream_port
        self.rng = random.Random(seed)
        self.rate = rate
        self.lock = threading.Lock()
        self.points_acked = 0        # metric points of log-batches MLflow answered 200
        self.points_processed = 0    # … including those whose answer the proxy then dropped
        self.answers_lost = 0
        self.faults = {"503": 0, "reset": 0, "stall": 0, "lost": 0}
        self.lags_ms: List[float] = []
        self.acks: List[Tuple[float, int]] = []   # (when, metric points) of each acknowledged log-batch
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    roll = proxy.rng.random()
                    kind = proxy.rng.choice(("503", "reset", "stall", "lost")) if roll < proxy.rate else None
                    if kind:
                        proxy.faults[kind] += 1
                    stall = proxy.rng.uniform(1, 4)
                if kind == "503":
                    self._reply(503, b"injected", {"Retry-After": "1"})
                    return
                if kind == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return
                if kind == "stall":
                    time.sleep(stall)
                try:
                    up = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=120)
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    up.request(self.command, self.path, body=body, headers=headers)
                    resp = up.getresponse()
                    data = resp.read()
                    status, resp_headers = resp.status, resp.getheaders()
                except OSError:
                    self._reply(502, b"upstream unavailable", {})
                    return
                if status == 200 and self.path.endswith("/runs/log-batch") and body:
                    metrics = json.loads(body).get("metrics") or []
                    now = time.time() * 1000
                    with proxy.lock:
                        proxy.points_processed += len(metrics)
                        if kind != "lost":
                            proxy.points_acked += len(metrics)
                            proxy.acks.append((now / 1000, len(metrics)))
                            proxy.lags_ms.extend(now - m["timestamp"] for m in metrics)
                if kind == "lost":
                    with proxy.lock:
                        proxy.answers_lost += 1
                    self.close_connection = True
                    self.connection.close()
                    return
                self._reply(status, data, {k: v for k, v in resp_headers
                                           if k.lower() not in ("transfer-encoding", "connection", "content-length")})

            def _reply(self, status, data, headers):
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True   # the client is gone (a syncd killed mid-request)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass   # a client killed mid-request (the soak SIGKILLs syncds): nothing to report

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent_since(self, mark: int) -> int:
        """Metric points acknowledged since the first `mark` acknowledgements."""
        return sum(n for _, n in self.acks[mark:])

    def acked_before(self, t: float, first: int) -> int:
        """Points acknowledged before time t among the first `first` acknowledgements."""
        return sum(n for at, n in self.acks[:first] if at < t)

    def stop(self) -> None:
        self.server.shutdown()
