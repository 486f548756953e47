"""A webhook receiver for the end-to-end tests of delivery (test_deliver.py, test_deliver_serve.py): Python's
http.server on loopback, recording every request and answering what the test's plan says."""

import http.server
import threading
import time


class Receiver:
    """An HTTP server on loopback that records every request and answers what plan() says for it."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.plan = lambda n, request: (200, {}, 0)  # n: the request's number for its webhook-id, from 1
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": body, "at": time.time()}
                with receiver.lock:
                    n = 1 + sum(1 for r in receiver.requests
                                if r["headers"].get("webhook-id") == request["headers"].get("webhook-id"))
                    receiver.requests.append(request)
                status, headers, delay = receiver.plan(n, request)
                time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def received(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def wait(self, path, count, timeout=30, what=None):
        """Waits (bounded) until path has count requests; on a timeout the error shows what() (a log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(path)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError("%s: %d of %d requests within %d s%s" % (
            path, len(self.received(path)), count, timeout, "\n" + what() if what else ""))

    def close(self):
        self.server.shutdown()
        self.server.server_close()
