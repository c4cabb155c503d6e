#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile clients for tests/integration/test-gpukeepd-hostile.sh. Each subcommand does one kind
of harm (gkd-client.py has the others: midway, rude, slow), prints one line that says what it got, and exits 0 when it could do the harm (the
daemon's answers are judged by the test).

usage: gkd-hostile.py COMMAND SOCKET [ARGS...]
  hold SOCKET N SECONDS      N connections, each stalled mid-line; prints "served S refused R"
                             (a refusal arrives unasked), then holds the served ones SECONDS
                             or until stdin closes
  probe SOCKET N MAX_MS      N status requests one after another; prints "ok K slowest MS";
                             exits 1 unless all N are ok within MAX_MS each
  never-read SOCKET N        N connections pipelining list requests, never reading a reply;
                             prints "sent BYTES" once every socket is full, then holds them
                             until stdin closes
  mid-reply SOCKET N         N times: a list request, 16 bytes of the reply read, then close
  oversized SOCKET BYTES     one line of BYTES without a newline, sent as fast as the daemon
                             takes it; prints what came back
"""
import importlib.util
import json
import os
import resource
import select
import socket
import sys
import time

# connect() with a retry while the listen backlog is full, shared with the polite clients
_spec = importlib.util.spec_from_file_location(
    "gkd_client", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gkd-client.py"))
_client = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_client)
connect = _client.connect

REQ_STATUS = b'{"version":1,"request":"status"}\n'
REQ_LIST = b'{"version":1,"request":"list"}\n'


def readable(s):
    p = select.poll()
    p.register(s, select.POLLIN)
    return bool(p.poll(0))


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n + 64))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def wait_stdin_or(seconds):
    """Returns when stdin reaches EOF or after SECONDS."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.time()))
        if r and not os.read(sys.stdin.fileno(), 4096):
            return


def cmd_hold(path, n, seconds):
    n = int(n)
    raise_fd_limit(n)
    socks = []
    for _ in range(n):
        s = connect(path)
        try:
            s.sendall(b'{"version":1,')  # a request that never finishes
        except (BrokenPipeError, ConnectionResetError):
            # refused and closed before this half request went out (the daemon drains only so
            # many refusals at once): the refusal line is still there to read
            pass
        socks.append(s)
    # Refusals arrive unasked, then the daemon shuts its side. Under load the daemon may be
    # late to accept: wait until no new refusal has come for 1 s (10 s at most), not a fixed time.
    refusals = {}
    deadline = time.time() + 10.0
    quiet_since = time.time()
    while time.time() < deadline and time.time() - quiet_since < 1.0:
        for i, s in enumerate(socks):
            if i not in refusals and readable(s):
                try:
                    refusals[i] = s.recv(4096)
                except ConnectionResetError:
                    refusals[i] = b""  # a reset without the reason: neither served nor refused
                s.close()
                quiet_since = time.time()
        time.sleep(0.05)
    refused = sum(b'"too-many-clients"' in line for line in refusals.values())
    served = len(socks) - len(refusals)
    print("served %d refused %d" % (served, refused), flush=True)
    wait_stdin_or(float(seconds))
    return 0


def cmd_probe(path, n, max_ms):
    ok = 0
    slowest = 0.0
    for _ in range(int(n)):
        t = time.monotonic()
        try:
            s = connect(path, timeout=float(max_ms) / 1000 + 1)
            s.sendall(REQ_STATUS)
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            s.close()
            r = json.loads(buf)
        except (OSError, ValueError):
            r = {}
        ms = (time.monotonic() - t) * 1000
        slowest = max(slowest, ms)
        ok += bool(r.get("ok")) and ms <= float(max_ms)
    print("ok %d slowest %.1f" % (ok, slowest), flush=True)
    return 0 if ok == int(n) else 1


def cmd_never_read(path, n):
    n = int(n)
    raise_fd_limit(n)
    socks = [connect(path) for _ in range(n)]
    sent = 0
    for s in socks:
        s.setblocking(False)
        while True:  # until the daemon stops reading: one reply in flight, buffers full
            try:
                sent += s.send(REQ_LIST * 64)
            except BlockingIOError:
                break
            except OSError:  # dropped at its deadline already
                break
    print("sent %d" % sent, flush=True)
    wait_stdin_or(60)
    return 0


def cmd_mid_reply(path, n):
    for _ in range(int(n)):
        s = connect(path)
        s.sendall(REQ_LIST)
        s.recv(16)
        s.close()  # the rest of the reply is unread: the daemon's send fails
    print("done %s" % n)
    return 0


def cmd_oversized(path, nbytes):
    s = connect(path, timeout=5)
    block = b"x" * 65536
    left = int(nbytes)
    try:
        while left > 0:
            k = s.send(block[: min(left, len(block))])
            left -= k
    except OSError as e:  # the daemon closed after its refusal
        print("send stopped: %s" % e.__class__.__name__)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    print(got.decode(errors="replace").strip() or "(nothing)")
    return 0


COMMANDS = {
    "hold": cmd_hold,
    "probe": cmd_probe,
    "never-read": cmd_never_read,
    "mid-reply": cmd_mid_reply,
    "oversized": cmd_oversized,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
