"""What the end-to-end tests of delivery share (test_deliver.py, test_deliver_serve.py): a webhook receiver (Python's
http.server on loopback, recording every request and answering what the test's plan says), a token for
subscriptions, and making one."""

import http.server
import re
import threading
import time


def subscriptions_token(stack, name):
    """A new token with the subscriptions:write scope; its secret."""
    r = stack.romtrack("token", "add", name, "--scope", "subscriptions:write")
    assert r.returncode == 0, r.stderr
    return re.search(r"rt_[A-Za-z0-9_-]{20,}", r.stdout).group(0)


def subscribe(stack, token, url, **members):
    """POST /api/subscriptions for url (and the other members given); the 201's subscription."""
    status, _, _, doc = stack.get("/api/subscriptions", {"Authorization": "Bearer " + token}, method="POST",
                                  body=dict({"url": url}, **members))
    assert status == 201, doc
    return doc


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
