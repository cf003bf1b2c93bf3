#!/usr/bin/env python3
"""Minimal DNS client (standard library only) used as the DNS server's probe.

usage: dnsquery.py SERVER PORT NAME TYPE   (TYPE: A or MX)
prints one answer per line: "A 127.0.1.1" or "MX 10 mx1.mail.test";
exits 1 when the server does not answer or answers with an error code.
"""
import random, socket, struct, sys

TYPES = {"A": 1, "MX": 15}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def read_name(msg, pos):
    labels, jumped, end = [], False, pos
    while True:
        length = msg[pos]
        if length & 0xC0 == 0xC0:  # compression pointer
            if not jumped:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            jumped = True
            continue
        if length == 0:
            if not jumped:
                end = pos + 1
            return ".".join(labels), end
        labels.append(msg[pos + 1:pos + 1 + length].decode("ascii"))
        pos += 1 + length


def query(server, port, name, qtype):
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack(">HH", TYPES[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(packet, (server, port))
        msg, _ = s.recvfrom(4096)
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    if rid != qid or flags & 0x000F:
        raise SystemExit(1)
    pos = 12
    for _ in range(qd):
        _, pos = read_name(msg, pos)
        pos += 4
    answers = []
    for _ in range(an):
        _, pos = read_name(msg, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
        pos += 10
        if rtype == 1:
            answers.append("A " + socket.inet_ntoa(msg[pos:pos + 4]))
        elif rtype == 15:
            pref = struct.unpack(">H", msg[pos:pos + 2])[0]
            answers.append("MX %d %s" % (pref, read_name(msg, pos + 2)[0]))
        pos += rdlen
    return answers


if __name__ == "__main__":
    server, port, name, qtype = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].upper()
    try:
        answers = query(server, port, name, qtype)
    except (OSError, IndexError, struct.error):
        sys.exit(1)
    print("\n".join(answers))
    sys.exit(0 if answers else 1)
