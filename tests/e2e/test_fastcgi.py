"""Raw FastCGI on romtrack's socket, as anyone who can open it could speak it: malformed openings, management
records, peers that stall, read nothing or drip bytes. Meanwhile the pool must keep serving HTTP through nginx, and
no worker may die (the same pids before and after). Records are built here from the FastCGI 1.0 specification."""

import json
import os
import socket
import stat
import struct
import threading
import time

import pytest

# XFU's whole latest.yml: its longest answers exceed what a unix socket buffers (test_a_peer_that_reads_nothing...)
IMPORT_FILES = ["data/xfu/devices.yml", "data/xfu/latest.yml"]

REQUEST_TIMEOUT = 2  # seconds; set for this module (conftest's default is 30)
BIG_PATH = "/api/releases?limit=500"  # checked to exceed what the socket buffers

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, GET_VALUES = 1, 3, 4, 5, 6, 9


def record(rtype, request_id, content=b"", padding=0):
    return struct.pack(">BBHHBB", 1, rtype, request_id, len(content), padding, 0) + content + b"\0" * padding


def pair_length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def params(pairs):
    body = b"".join(pair_length(len(k)) + pair_length(len(v)) + k + v
                    for k, v in ((k.encode(), v.encode()) for k, v in pairs.items()))
    return record(PARAMS, 1, body, (8 - len(body) % 8) % 8) + record(PARAMS, 1)


def begin():
    return record(BEGIN_REQUEST, 1, struct.pack(">HB5x", 1, 0))


def get_request(uri):
    """What nginx sends for GET uri: BEGIN_REQUEST, the parameters, an empty STDIN."""
    return begin() + params({"REQUEST_METHOD": "GET", "REQUEST_URI": uri, "SCRIPT_NAME": uri.split("?")[0],
                             "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}) + record(STDIN, 1)


# BEGIN_REQUEST (16 bytes), then a PARAMS record whose pair claims a 1 GB name and a 1 GB value: libfcgi's
# ReadParams allocates name length + value length + 2 as an int, which overflows (Debian's fix of CVE-2025-23016
# does not catch this sum), and its Malloc aborts the worker ("fcgiapp.c:75: Malloc: Assertion ... failed").
KILLER = begin() + record(PARAMS, 1, b"\xc0\x00\x00\x00\xc0\x00\x00\x00ab")
assert len(KILLER) == 34
# A 2 GB name alone: libfcgi allocates it and waits for it, holding the worker and the memory.
HOARDER = begin() + record(PARAMS, 1, b"\xff\xff\xff\xf0\x00abcde")


def connect(stack, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(stack.socket_path)
    return s


def read_response(s, limit=16 << 20):
    """Reads records until END_REQUEST; returns (stdout bytes, ended). ended is False when the connection closed
    first."""
    data, out = b"", b""
    while len(data) < limit:
        while len(data) >= 8:
            _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", data[:8])
            if len(data) < 8 + clen + plen:
                break
            if rtype == STDOUT:
                out += data[8:8 + clen]
            data = data[8 + clen + plen:]
            if rtype == END_REQUEST:
                return out, True
        chunk = s.recv(65536)
        if not chunk:
            return out, False
        data += chunk
    return out, False


def closed_by_server(s, within):
    """True when the server closes the connection (EOF) within `within` seconds."""
    s.settimeout(within)
    try:
        return s.recv(65536) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def fcgi(stack):
    """The stack with a short request_timeout, and debug logging (each answered request logged with its
    worker's pid)."""
    stack.reconfigure({"request_timeout": REQUEST_TIMEOUT, "log_level": "debug"})
    yield stack
    stack.reconfigure({"request_timeout": None, "log_level": "info"})


def assert_serves(stack, rounds=6):
    for _ in range(rounds):
        status, _, _, doc = stack.get("/api/regions", timeout=20)
        assert status == 200 and doc["data"]


def test_socket_is_open_to_nginx_only(stack):
    st = os.lstat(stack.socket_path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)  # the default socket_mode
    assert st.st_gid == os.getegid()  # socket_group empty: romtrack's own (nginx's workers run as this user)


@pytest.mark.parametrize("message", [KILLER, HOARDER], ids=["1GB+1GB", "2GB"])
def test_a_34_byte_message_kills_no_worker(fcgi, message):
    stack = fcgi
    before = stack.worker_pids()
    for _ in range(20):
        with connect(stack) as s:
            s.sendall(message)
            # at once: the length alone is impossible (no waiting for request_timeout)
            assert closed_by_server(s, REQUEST_TIMEOUT / 2), "the connection is closed, not answered"
    assert stack.worker_pids() == before
    assert_serves(stack)
    assert "killed by signal" not in stack.full_log()
    assert "FastCGI connection dropped: a parameter is longer than the parameters sent" in stack.full_log()


def test_a_flood_of_malformed_openings_leaves_the_pool_serving(fcgi):
    stack = fcgi
    before = stack.worker_pids()
    failures, answered, sent = [], [0], [0]
    flooding = threading.Event()
    flooding.set()

    def flood():
        deadline = time.monotonic() + 30
        for _ in range(3000):
            if time.monotonic() > deadline:
                break
            with connect(stack, timeout=5) as s:
                s.sendall(KILLER)
                # the worker closes it unanswered; then the next (one at a time, so that the flood is of
                # malformed messages, not of connections filling the listen backlog)
                if closed_by_server(s, 5):
                    sent[0] += 1

    def serve():
        deadline = time.monotonic() + 60
        while flooding.is_set() and time.monotonic() < deadline:
            try:
                status = stack.get("/api/regions", timeout=20, contract=False)[0]
            except OSError as e:
                status = repr(e)
            if status != 200:
                failures.append(status)
            answered[0] += 1

    # One flooding client as fast as the workers close its connections: more would only fill the listen backlog,
    # a flood of connections (which the socket's permissions keep strangers from), not of malformed messages.
    floods = [threading.Thread(target=flood)]
    server = threading.Thread(target=serve)
    for t in floods + [server]:
        t.start()
    for t in floods:
        t.join(60)
    flooding.clear()
    server.join(60)
    assert sent[0] == 3000, "every message was refused (closed unanswered)"
    assert failures == [] and answered[0] > 0
    assert stack.worker_pids() == before, "no worker died"


@pytest.mark.parametrize("opening", [
    record(GET_VALUES, 0, b"\x0e\x00FCGI_MAX_CONNS"),  # libfcgi would answer it (and leak the parameters)
    record(11, 0, b"\x00" * 8),                          # a management record of an unknown type: 64 bytes leaked
    record(PARAMS, 1, b"\x01\x01ab") + record(PARAMS, 1),  # parameters without BEGIN_REQUEST
    record(BEGIN_REQUEST, 1, struct.pack(">HB5x", 2, 0)) + params({}),  # the authorizer role
    begin() + record(GET_VALUES, 0) + params({"REQUEST_URI": "/"}),  # a management record among the parameters
    begin() + record(PARAMS, 2, b"\x01\x01ab") + record(PARAMS, 2),  # parameters of another request
    b"\x02" + begin()[1:] + params({"REQUEST_URI": "/"}),  # FastCGI version 2
], ids=["get-values", "unknown-type", "no-begin", "authorizer", "management-inside", "other-id", "version-2"])
def test_openings_other_than_nginxs_are_closed_unanswered(fcgi, opening):
    stack = fcgi
    before = stack.worker_pids()
    with connect(stack) as s:
        s.sendall(opening)
        assert closed_by_server(s, 10)
    assert stack.worker_pids() == before
    assert_serves(stack, 2)


def test_a_well_formed_request_is_answered(fcgi):
    with connect(fcgi) as s:
        s.sendall(get_request("/api/regions"))
        out, ended = read_response(s)
    assert ended and out.startswith(b"Status: 200 OK\r\n")
    # the same request cut into 1-byte writes still is one (a peer may send it in pieces)
    with connect(fcgi) as s:
        for b in get_request("/api/regions")[:40]:
            s.send(bytes([b]))
        s.sendall(get_request("/api/regions")[40:])
        out, ended = read_response(s)
    assert ended and out.startswith(b"Status: 200 OK\r\n")


# --- bodies: romtrack reads FCGI_STDIN itself, within max_body_kb, CONTENT_LENGTH and the connection's deadline ---

MAX_BODY = 1024 * 1024  # max_body_kb's default
WRITE_PATH = "/api/releases"  # a route that takes a JSON body (POST)


def post_opening(content_length, uri=WRITE_PATH, content_type="application/json"):
    """BEGIN_REQUEST and the parameters of a POST, as nginx sends them; no STDIN yet."""
    pairs = {"REQUEST_METHOD": "POST", "REQUEST_URI": uri, "SCRIPT_NAME": uri, "SERVER_PROTOCOL": "HTTP/1.1",
             "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": content_type,
             "CONTENT_LENGTH": "" if content_length is None else str(content_length)}
    return begin() + params(pairs)


def stdin_records(body, piece):
    """body as FCGI_STDIN records of at most piece bytes (padded to 8 like nginx), without the empty end."""
    out = b""
    for i in range(0, len(body), piece):
        chunk = body[i:i + piece]
        out += record(STDIN, 1, chunk, (8 - len(chunk) % 8) % 8)
    return out


def status_and_detail(out):
    """The status and the problem's detail of a FastCGI response."""
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"Status: "), out[:200]
    status = int(head[8:11])
    detail = json.loads(body)["detail"] if body.startswith(b"{") else None
    return status, detail


def test_a_body_declared_over_the_limit_is_refused_before_it_is_sent(fcgi):
    """413 on CONTENT_LENGTH alone: the answer comes while not one byte of the body was sent."""
    with connect(fcgi) as s:
        s.sendall(post_opening(MAX_BODY + 1))
        out, ended = read_response(s)
    assert ended
    status, detail = status_and_detail(out)
    assert status == 413 and "1024 kB" in detail, out


def test_a_body_over_the_limit_without_content_length_is_refused(fcgi):
    """No CONTENT_LENGTH: the records are counted as they come, across records, and 413 at the limit."""
    with connect(fcgi) as s:
        s.sendall(post_opening(None) + stdin_records(b"x" * (MAX_BODY + 1), 32768))
        out, ended = read_response(s)
    assert ended and status_and_detail(out)[0] == 413, out[:300]


def test_a_body_shorter_than_content_length_is_a_400(fcgi):
    with connect(fcgi) as s:
        s.sendall(post_opening(10) + stdin_records(b"{}\n", 64) + record(STDIN, 1))
        out, ended = read_response(s)
    assert ended
    assert status_and_detail(out) == (400, "the body has 3 bytes, its Content-Length said 10")


def test_a_body_longer_than_content_length_is_a_400(fcgi):
    with connect(fcgi) as s:
        s.sendall(post_opening(4) + stdin_records(b"{}" * 3, 2) + record(STDIN, 1))
        out, ended = read_response(s)
    assert ended
    assert status_and_detail(out) == (400, "the body is longer than its Content-Length, 4 bytes")


@pytest.mark.parametrize("piece", [1, 7, 4096, 65535], ids=["1-byte", "7-byte", "4k", "64k"])
def test_a_body_in_several_records_is_read_whole(fcgi, piece):
    """A body of exactly CONTENT_LENGTH bytes in records of any size (padded or not) passes the framing checks:
    what answers is the next step, the authorization (401 without a token), never 400 or 413; a record header and its content may also arrive apart."""
    body = json.dumps({"data": [{"filename": "x%d.zip" % i} for i in range(3000)]}).encode()
    assert len(body) > 65535
    body = body[:piece * 40] if piece < 100 else body  # 1-byte records: 40 of them
    opening = post_opening(len(body))
    records = stdin_records(body, piece) + record(STDIN, 1)
    with connect(fcgi) as s:
        s.sendall(opening + records[:5])
        time.sleep(0.05)
        s.sendall(records[5:])
        out, ended = read_response(s)
    assert ended
    status, detail = status_and_detail(out)
    assert status == 401, (status, detail)
    assert "body" not in (detail or ""), detail


def test_the_padding_of_the_last_parameters_record_is_not_the_body(fcgi):
    """libfcgi stops reading the opening at the empty PARAMS record's header: its padding, sent later, is skipped
    before the body's records."""
    opening = post_opening(2)
    assert opening.endswith(record(PARAMS, 1))
    padded = opening[:-8] + record(PARAMS, 1, b"", 7)
    with connect(fcgi) as s:
        s.sendall(padded[:-7])
        time.sleep(0.05)
        s.sendall(padded[-7:] + stdin_records(b"{}", 64) + record(STDIN, 1))
        out, ended = read_response(s)
    assert ended
    status, detail = status_and_detail(out)
    assert status == 401, (status, detail)


def test_a_peer_that_stops_in_the_middle_of_a_body_is_let_go(fcgi):
    """Stalled in the middle of a body: closed unanswered at request_timeout; closed by the peer: let go at once.
    Either way the worker lives on."""
    stack = fcgi
    before = stack.worker_pids()
    stalled = [connect(stack) for _ in range(len(before) + 1)]
    try:
        for s in stalled:
            s.sendall(post_opening(100) + stdin_records(b"{" * 50, 64))
        with connect(stack) as s:
            s.sendall(post_opening(100) + stdin_records(b"{" * 50, 64))
        assert_serves(stack, 2)
        for s in stalled:
            assert closed_by_server(s, REQUEST_TIMEOUT + 10), "closed at request_timeout"
    finally:
        for s in stalled:
            s.close()
    assert stack.worker_pids() == before


@pytest.mark.parametrize("intruder", [record(GET_VALUES, 0, b""), record(STDIN, 2, b"abcd", 4),
                                      record(2, 1), record(PARAMS, 1, b"\x01\x01ab")],
                         ids=["management", "another-request", "abort", "params-again"])
def test_a_record_that_does_not_belong_in_a_body_closes_the_connection(fcgi, intruder):
    stack = fcgi
    before = stack.worker_pids()
    with connect(stack) as s:
        s.sendall(post_opening(8) + stdin_records(b"{}", 64) + intruder + stdin_records(b"[]", 64) * 10)
        out, ended = read_response(s)
    assert not ended and out == b"", out[:200]
    assert stack.worker_pids() == before
    assert_serves(stack, 2)


@pytest.mark.parametrize("opening", [b"", begin()[:5], begin() + record(PARAMS, 1, b"\x0b\x01REQUEST_UR")],
                         ids=["nothing", "half-a-header", "half-the-parameters"])
def test_stalled_openings_do_not_hold_workers(fcgi, opening):
    """More stalled connections than workers: each is closed at request_timeout, and HTTP goes on."""
    stack = fcgi
    before = stack.worker_pids()
    socks = [connect(stack) for _ in range(len(before) + 2)]
    try:
        for s in socks:
            if opening:
                s.sendall(opening)
        assert_serves(stack, 2)
        for s in socks:
            assert closed_by_server(s, REQUEST_TIMEOUT + 10), "closed at request_timeout"
    finally:
        for s in socks:
            s.close()
    assert stack.worker_pids() == before


def test_a_peer_that_reads_nothing_does_not_hold_workers(fcgi):
    stack = fcgi
    status, _, body, _ = stack.get(BIG_PATH, timeout=30)
    with open("/proc/sys/net/core/wmem_default") as f:
        socket_buffer = int(f.read())  # an accepted unix socket's SO_SNDBUF
    assert status == 200 and len(body) > socket_buffer, "the answer must exceed what the socket buffers"
    before = stack.worker_pids()
    socks = [connect(stack) for _ in range(len(before) + 2)]
    try:
        for s in socks:
            s.sendall(get_request(BIG_PATH))  # and never read
        assert_serves(stack, 2)
    finally:
        for s in socks:
            s.close()
    assert stack.worker_pids() == before


def test_a_peer_dripping_bytes_after_the_response_is_let_go(fcgi):
    """libfcgi's own close waits 2 s for the peer's end of the stream, again after every byte: a byte a second
    held a worker for as long as it went on. The whole connection, close included, is bounded."""
    stack = fcgi
    with connect(stack) as s:
        s.sendall(get_request("/api/regions"))
        _, ended = read_response(s)
        assert ended
        start = time.monotonic()
        released = None
        while time.monotonic() - start < REQUEST_TIMEOUT + 15:
            try:
                s.send(b"x")
            except OSError:  # EPIPE / ECONNRESET: the worker has closed its end
                released = time.monotonic() - start
                break
            time.sleep(0.3)
    assert released is not None and released < REQUEST_TIMEOUT + 5, released


def test_a_failed_start_leaves_no_socket_behind(stack):
    """The socket is bound, then given to socket_group: when that fails (romtrack is neither root nor a member of
    the group), serve stops with the reason, and the socket it bound is gone."""
    import pathlib
    import shutil
    import subprocess
    import tempfile
    import conftest

    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="romtrack-e2e-start-", dir="/tmp"))
    os.chmod(tmp_path, 0o755)  # readable by the user romtrack runs as below
    run = tmp_path / "run"
    run.mkdir()
    os.chmod(run, 0o777)
    sock = run / "romtrack.sock"
    # the program and what it reads, copied where that user can reach them (the clone may sit in a 0700 folder)
    program = tmp_path / "romtrack"
    shutil.copy(conftest.ROMTRACK_BIN, program)
    shutil.copy(os.path.join(conftest.REPO, "openapi.yaml"), tmp_path / "openapi.yaml")
    shutil.copytree(os.path.join(conftest.REPO, "sql"), tmp_path / "sql")
    for path in [program, tmp_path / "openapi.yaml", tmp_path / "sql", *(tmp_path / "sql").iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() or path == program else 0o644)
    config = tmp_path / "romtrack.yaml"
    config.write_text("database: \"host=127.0.0.1 port=%d dbname=romtrack user=romtrack\"\nlisten: %s\n"
                      "socket_group: root\nworkers: 1\nmigrations: sql\nopenapi: openapi.yaml\n"
                      % (stack.pg_port, sock))
    os.chmod(config, 0o644)
    argv = [str(program), "-c", str(config), "serve"]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "nobody", "--"] + argv  # root could give the socket to any group
    else:
        assert 0 not in os.getgroups(), "a member of group root would succeed"
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=str(tmp_path))
        assert r.returncode == 1, r.stderr
        assert "cannot give the socket to group root" in r.stderr
        assert not os.path.lexists(sock)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
