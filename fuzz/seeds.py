#!/usr/bin/env python3
"""Writes the hand-made and fixture seeds of fuzz/corpus/<target>/ (run once; fuzzing adds the rest).

Seeds are named seed-<what>; libFuzzer names what it adds by content hash. Re-running it
rewrites the seeds only, and never removes what fuzzing found."""
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def fixtures(target, pattern, limit=None):
    for path in sorted(glob.glob(os.path.join(REPO, pattern)))[:limit]:
        with open(path, "rb") as f:
            data = f.read()
        stem = os.path.relpath(path, REPO).replace("/", "_")
        put(target, stem, data)


URIS = [
    "/api/branches", "/api/devices/alioth/latest?region=global&branch=stable&type=recovery",
    "/api/devices/al%69%6F%74h/latest?%72egion=glob%61l", "/api/devices/alioth/latest?&region=global&",
    "/api/devices/can%00cro", "/api/devices/can%FFcro", "/api/devices/alioth/releases?limit=1&cursor=",
    "/api/devices?q=Redmi+Note+%E2%9C%93", "/api/x?a=%zz", "/api/x?" + "&".join("p%d=1" % i for i in range(33)),
    "/" + "a" * 2049, "/api/devices/%F0%9F%98%80?q=%ED%A0%80",
]
QUERIES = [
    "codename=alioth,apollo&region=global", "branch=stable&type=fastboot&limit=500", "limit=0", "limit=050",
    "since=2020-02-29&until=2020-03-01", "since=2021-02-29", "since=2022-01-02&until=2022-01-01",
    "q=%E2%9C%93&version=V12.5.3.0.RKHMIXM", "android=8.1&family=public-beta&current=OS1.0.5.0.TKHMIXM",
    "variant=alioth_global&cursor=abc.def", "brnach=stable", "region=global&region=cn",
    "q=" + "%C3%A9" * 60, "codename=" + ",".join(["a"] * 51),
]
VERSIONS = [
    "V12.5.3.0.RKHMIXM", "V7.3.1.0.KHBCNDD", "OS1.0.5.0.TKHMIXM", "OS2.0.208.0.VGQINXM", "A15.0.15.0.VGWEUXM",
    "7.3.23", "V14.0.23.4.17.DEV", "OS1.0.24.1.8.DEV", "JHACNBH22.0", "V12.5.3.0.rkhmixm", "V1234567.0.0.0.RKHMIXM",
    "V012.05.3.0.RKHMIXM", "A14.0.1.2.3.DEV", "",
]


def fcgi_record(rtype, request_id, content=b"", padding=0, version=1):
    return struct.pack(">BBHHBB", version, rtype, request_id, len(content), padding, 0) + content + b"\0" * padding


def fcgi_length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def fcgi_params(pairs, request_id=1, split=None):
    body = b"".join(fcgi_length(len(k)) + fcgi_length(len(v)) + k + v for k, v in pairs)
    recs = []
    for i in range(0, len(body), split or max(len(body), 1)):
        part = body[i:i + (split or len(body))]
        recs.append(fcgi_record(4, request_id, part, (8 - len(part) % 8) % 8))
    return b"".join(recs) + fcgi_record(4, request_id)


def fcgi_begin(role=1, request_id=1, flags=0):
    return fcgi_record(1, request_id, struct.pack(">HB5x", role, flags))


NGINX = [(b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/api/devices/alioth/latest?region=global"),
         (b"HTTP_HOST", b"romtrack.example"), (b"REQUEST_SCHEME", b"https"), (b"REMOTE_ADDR", b"127.0.0.1"),
         (b"SERVER_ADDR", b"127.0.0.1"), (b"SERVER_PORT", b"8080"), (b"HTTP_IF_NONE_MATCH", b'"abc"'),
         (b"HTTP_ACCEPT", b"application/json")]


def main():
    for i, u in enumerate(URIS):
        put("uri", "%02d" % i, u)
    for i, q in enumerate(QUERIES):
        put("params", "%02d" % i, b"\0\0" + q.encode())
    put("params", "only-q", b"\xff\x3f" + b"q=x&region=global")
    cursors = [(1, ["alioth"]), (3, ["2024-01-02", "0212050300", "42"]), (2, ["\u00e9\u2713", ""]),
               (4, ["a\"b", "\\", "\n", "x" * 300])]
    for i, (n, fields) in enumerate(cursors):
        put("cursor", "%02d" % i, bytes([n - 1]) + "\xff".encode("latin-1").join([b"/api/devices/x/releases?branch=stable"]
                                                                                  + [f.encode() for f in fields]) + b"\xff\x07")
    put("cursor", "token", b"\x00eyJhIjoxfQ.AAAAAAAAAAA")
    for i, s in enumerate([b"plain ascii", "\u00e9\u2713\U0001F600".encode(), b"\xc0\xaf", b"\xed\xa0\x80",
                           b"\xf4\x90\x80\x80", b"\xe2\x82", b"abc\xff", b"\xf0\x9f\x98\x80\xf0\x9f"]):
        put("utf8", "%02d" % i, s)
    for i, v in enumerate(VERSIONS):
        put("version", "%02d" % i, v)
    fixtures("page", "tests/data/pages/*/*.md")
    fixtures("page", "tests/data/pages/*/*.html")
    fixtures("page", "data/sample/pages/*", limit=8)
    with open(os.path.join(REPO, "data/sample/latest.yml"), "rb") as f:
        latest = f.read()
    entries = latest.split(b"\n- ")
    put("xfu_yaml", "latest-head", b"\n- ".join(entries[:6]) + b"\n")
    put("xfu_yaml", "latest-tail", b"- " + b"\n- ".join(entries[-6:]))
    fixtures("xfu_yaml", "data/sample/devices.yml")
    put("xfu_yaml", "empty", b"")
    put("xfu_yaml", "scalar", b"just a scalar\n")
    put("xfu_yaml", "links", b"- codename: alioth\n  name: Redmi K40\n  version: V12.5.3.0.RKHMIXM\n  branch: Stable\n"
        b"  method: Fastboot\n  link:\n  - https://a.example/alioth_images_V12.5.3.0.RKHMIXM_20210101.0000.00_11.0_cn_0123456789.tgz\n"
        b"  - https://b.example/alioth_images_V12.5.3.0.RKHMIXM_20210101.0000.00_11.0_cn_0123456789.tgz\n"
        b"  size: 3.1 GB\n  md5: 0123456789abcdef0123456789abcdef\n  date: 2021-01-01\n  android: '11.0'\n")
    fixtures("config", "tests/data/config/*/*.yaml")
    fixtures("config", "conf/romtrack.yaml")
    put("config", "escapes.yaml", 'database: "a\\u2028b\\x85c\\"\\\\ \\u00e9\\U0001F600\\x01"\nlisten: "rel/x"\n')
    nginx = fcgi_begin() + fcgi_params(NGINX) + fcgi_record(5, 1)
    put("fcgi", "nginx", nginx)
    put("fcgi", "nginx-split", fcgi_begin(request_id=7) + fcgi_params(NGINX, 7, split=13) + fcgi_record(5, 7))
    put("fcgi", "head", fcgi_begin(request_id=2, flags=1) + fcgi_params([(b"REQUEST_METHOD", b"HEAD"),
                                                                         (b"REQUEST_URI", b"/api/x?q=%E2%9C%93")], 2))
    put("fcgi", "long-lengths", fcgi_begin() + fcgi_params([(b"REQUEST_URI", b"/" + b"a" * 300), (b"X" * 130, b"")]))
    put("fcgi", "no-params", fcgi_begin() + fcgi_record(4, 1))
    put("fcgi", "incomplete", nginx[:40])
    put("fcgi", "get-values", fcgi_record(9, 0, b"\x0e\x00FCGI_MAX_CONNS"))
    put("fcgi", "authorizer", fcgi_begin(role=2) + fcgi_params(NGINX))
    put("fcgi", "huge-length", fcgi_begin() + fcgi_record(4, 1, b"\x8f\xff\xff\xff\x01", 3) + fcgi_record(4, 1))
    put("fcgi", "other-id", fcgi_begin() + fcgi_record(4, 2, b"\x01\x01ab", 4))


if __name__ == "__main__":
    main()
