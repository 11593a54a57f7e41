#!/usr/bin/env python3
# meshd's resource limits before and after authentication (issue 18 point 4), two binaries side
# by side (the peer: a meshd built before the change). For each binary: meshd's peak RSS growth
# (VmHWM, reset through /proc/PID/clear_refs) over four posts of 1 GiB of zeros gzip'd (1 MiB),
# without and with the token; then the time of a steady 10,000-series metrics push and of a push
# of 100 new series into a service holding 40,000 (the cardinality bound's cost).
# Usage: bench/meshd_limits.py OLD_MESHD NEW_MESHD
import os, re, statistics, subprocess, sys, tempfile, time, urllib.error, urllib.request, zlib


def gzip_of_zeros(total):
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + 15, 9)
    zeros = bytes(1 << 20)
    return b"".join([c.compress(zeros) for _ in range(total >> 20)] + [c.flush()])


def kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])


def post(url, body, headers):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers, method="POST")) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def start(binary, work):
    with open(work + "/token", "w") as f:
        f.write("bench-token")
    os.chmod(work + "/token", 0o600)
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--db", work + "/m.db", "--token-file",
                          work + "/token"], stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        m = re.search(r"127\.0\.0\.1:(\d+)", p.stderr.readline())
        if m:
            return p, f"http://127.0.0.1:{m.group(1)}"
    p.kill()
    sys.exit(f"{binary} did not start")


def measure(binary):
    work = tempfile.mkdtemp()
    p, base = start(binary, work)
    try:
        bomb, warm = gzip_of_zeros(1 << 30), gzip_of_zeros(10 << 20)
        for token in (None, "bench-token"):
            h = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            if token:
                h["Authorization"] = "Bearer " + token
            for _ in range(4):
                post(base + "/v1/logs", warm, h)
            rss = kib(p.pid, "VmRSS")
            with open(f"/proc/{p.pid}/clear_refs", "w") as f:
                f.write("5")
            codes = [post(base + "/v1/logs", bomb, h) for _ in range(4)]
            print(f"{binary}: 1 GiB bomb ({len(bomb)} bytes) x4 {'with' if token else 'without'} token:"
                  f" {codes}, peak RSS +{kib(p.pid, 'VmHWM') - rss} KiB")
        h = {"Content-Type": "text/plain", "Authorization": "Bearer bench-token"}
        text = lambda first, n, v: "".join(
            f'card{{service="api",k="{i}"}} {v}\n' for i in range(first, first + n)).encode()
        for b in range(4):
            assert post(base + "/v1/metrics", text(b * 10000, 10000, 1), h) == 200
        steady, fresh = [], []
        for r in range(7):
            t = time.perf_counter()
            assert post(base + "/v1/metrics", text(0, 10000, r), h) == 200
            steady.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert post(base + "/v1/metrics", text(40000 + r * 100, 100, 1), h) == 200
            fresh.append(time.perf_counter() - t)
        print(f"{binary}: steady 10k-series push median {1e3 * statistics.median(steady):.1f} ms;"
              f" 100 new series into a 40k service median {1e3 * statistics.median(fresh):.1f} ms")
    finally:
        p.terminate()
        p.wait()


for binary in sys.argv[1:]:
    measure(binary)
