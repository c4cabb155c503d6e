#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in for the service manager's $NOTIFY_SOCKET: notify-listen.py SOCKET OUT appends
each datagram it receives to OUT, one per line (newlines inside become ' ')."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        f.write(msg.replace("\n", " ") + "\n")
        if "STOPPING=1" in msg:
            break
os.unlink(path)
