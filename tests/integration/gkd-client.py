#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Protocol clients for the gpukeepd integration tests and bench/rpc: well-behaved, malformed,
oversized, slow, concurrent and rude ones. Each subcommand exits 0 when what it checks held and
prints why not otherwise.

usage: gkd-client.py COMMAND SOCKET [ARGS...]
  call SOCKET JSON...         send each request, print each reply line
  raw SOCKET                  send stdin as is, print the replies until the daemon closes
  wait SOCKET EXPR [SECONDS]  poll "list" until the Python EXPR over `gpus` is true
  oversized SOCKET            a 5000-byte line: expect line-too-long, then a close
  slow SOCKET SECONDS         stall mid-line: expect a drop within SECONDS while others are served
  concurrent SOCKET N         N clients at once, each a list request: all answered
  rude SOCKET N               N times: send a request and close at once (SIGPIPE bait)
  midway SOCKET N             N times: half a request, then close
  notify PATH SECONDS         listen on a notify socket ("@name": abstract), print the first message
"""
import json
import os
import socket
import sys
import threading
import time


def connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            s.connect(path)
            return s
        except BlockingIOError:  # the listen backlog is full: the daemon is accepting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.001)


def readline(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.decode()


def request(path, req):
    s = connect(path)
    s.sendall((json.dumps(req) + "\n").encode())
    reply = json.loads(readline(s))
    s.close()
    return reply


def cmd_call(path, *lines):
    s = connect(path)
    for line in lines:
        s.sendall((line + "\n").encode())
        sys.stdout.write(readline(s))
    return 0


def cmd_raw(path):
    s = connect(path)
    s.sendall(sys.stdin.buffer.read())
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        sys.stdout.write(chunk.decode())
    return 0


def cmd_wait(path, expr, seconds="10"):
    deadline = time.time() + float(seconds)
    last = None
    while time.time() < deadline:
        try:
            last = request(path, {"version": 1, "request": "list"})
            if eval(expr, {"gpus": last["gpus"], "reply": last}):  # noqa: S307 (test input)
                return 0
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    print("timed out waiting for %s; last reply: %s" % (expr, json.dumps(last)))
    return 1


def cmd_oversized(path):
    s = connect(path)
    try:
        s.sendall(b"x" * 5000)
    except OSError:
        pass
    reply = readline(s)
    try:
        rest = s.recv(10)
    except ConnectionResetError:  # closed with our unread bytes still queued: a reset
        rest = b""
    ok = '"line-too-long"' in reply and rest == b""
    if not ok:
        print("reply %r, then %r" % (reply, rest))
    return 0 if ok else 1


def cmd_slow(path, seconds):
    seconds = float(seconds)
    slow = connect(path, timeout=seconds + 5)
    slow.sendall(b'{"version":1,')
    start = time.time()
    served = 0
    # Others must be served at once while the slow one stalls.
    while time.time() - start < seconds / 2:
        t0 = time.time()
        reply = request(path, {"version": 1, "request": "status"})
        if not reply.get("ok") or time.time() - t0 > 0.5:
            print("a well-behaved client was not served promptly: %r" % reply)
            return 1
        served += 1
        time.sleep(0.05)
    try:
        data = slow.recv(100)
    except socket.timeout:
        print("the slow client was not dropped within %s s" % (seconds + 5))
        return 1
    took = time.time() - start
    if data != b"" or took > seconds + 2:
        print("slow client: got %r after %.1f s" % (data, took))
        return 1
    print("slow client dropped after %.1f s; %d other requests served meanwhile" % (took, served))
    return 0


def cmd_concurrent(path, n):
    n = int(n)
    socks = [connect(path) for _ in range(n)]
    results = [None] * n
    barrier = threading.Barrier(n)

    def one(i):
        try:
            barrier.wait()
            socks[i].sendall(b'{"version":1,"request":"list","id":%d}\n' % i)
            results[i] = json.loads(readline(socks[i]))
        except (OSError, ValueError, threading.BrokenBarrierError) as e:
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [(i, r) for i, r in enumerate(results)
           if not isinstance(r, dict) or not r.get("ok") or r.get("id") != i]
    for s in socks:
        s.close()
    if bad:
        print("%d of %d clients failed, e.g. %r" % (len(bad), n, bad[0]))
        return 1
    print("%d concurrent clients answered" % n)
    return 0


def cmd_rude(path, n):
    for _ in range(int(n)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(b'{"version":1,"request":"list"}\n')
        s.close()
    return 0


def cmd_midway(path, n):
    # the daemon may refuse a connection (this uid's earlier ones not yet reaped: its per-uid
    # cap) and close it before the half request is sent: a reset here is its answer, not a
    # failure; what the test checks is that the daemon serves on afterwards
    refused = 0
    for _ in range(int(n)):
        s = connect(path)
        try:
            s.sendall(b'{"version":1,"request":"set-persistence","enabled":fal')
        except (BrokenPipeError, ConnectionResetError):
            refused += 1
        s.close()
    print(f"sent {int(n) - refused} refused {refused}")
    return 0


def cmd_notify(path, seconds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + path[1:] if path.startswith("@") else path)
    s.settimeout(float(seconds))
    print("listening", flush=True)
    try:
        print(s.recv(4096).decode(), flush=True)
    except socket.timeout:
        print("no notification", flush=True)
        return 1
    return 0


COMMANDS = {"call": cmd_call, "raw": cmd_raw, "wait": cmd_wait, "oversized": cmd_oversized,
            "slow": cmd_slow, "concurrent": cmd_concurrent, "rude": cmd_rude,
            "midway": cmd_midway, "notify": cmd_notify}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
