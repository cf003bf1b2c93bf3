#!/usr/bin/env python3
"""clamd's own protocol, for the launcher's probe and for operators:
   clamdproto.py HOST PORT ping          -> exit 0 when clamd answers PONG
   clamdproto.py HOST PORT scan FILE     -> prints clamd's verdict for FILE (INSTREAM)"""
import socket
import struct
import sys


def ask(host, port, command, payload=None):
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"z" + command + b"\0")
        if payload is not None:
            for i in range(0, len(payload), 65536):
                chunk = payload[i:i + 65536]
                s.sendall(struct.pack(">I", len(chunk)) + chunk)
            s.sendall(struct.pack(">I", 0))
        answer = b""
        while not answer.endswith(b"\0"):
            part = s.recv(4096)
            if not part:
                break
            answer += part
        return answer.rstrip(b"\0").decode("utf-8", "replace")


if __name__ == "__main__":   # also imported by the scanner benchmark (launcher/bench)
    host, port, verb = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if verb == "ping":
        sys.exit(0 if ask(host, port, b"PING") == "PONG" else 1)
    if verb == "scan":
        print(ask(host, port, b"INSTREAM", open(sys.argv[4], "rb").read()))
        sys.exit(0)
    sys.exit(2)
