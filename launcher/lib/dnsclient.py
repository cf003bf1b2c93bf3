"""A DNS client for the launcher, standard library only: one question over UDP to one server,
A and MX answers (with the exchangers' addresses from the additional section, or asked for).

Used by the DNS service's probe (services/dns/dnsquery.py) and by the benchmark's senders
(bench/mailbench/dnsmx.py), which resolve MX records as a sending MTA does.
"""
import random
import socket
import struct

TYPE_A, TYPE_MX = 1, 15


def _encode_name(name):
    encoded = b""
    for label in name.rstrip(".").split("."):
        encoded += bytes([len(label)]) + label.encode("ascii")
    return encoded + b"\x00"


def _decode_name(packet, offset):
    """Returns (name, offset just past the name), following compression pointers."""
    labels, end = [], None
    while True:
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | packet[offset + 1]
            continue
        if length == 0:
            return ".".join(labels), (end if end is not None else offset + 1)
        labels.append(packet[offset + 1:offset + 1 + length].decode("ascii"))
        offset += 1 + length


def _ask(server, name, qtype, timeout):
    """One query; returns the answer and additional records as (name, type, rdata offset, packet)."""
    query_id = random.randrange(65536)
    question = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + _encode_name(name) + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(question, server)
        while True:
            packet, _ = sock.recvfrom(4096)
            if struct.unpack(">H", packet[:2])[0] == query_id:
                break
    flags, qdcount, ancount, nscount, arcount = struct.unpack(">HHHHH", packet[2:12])
    if flags & 0x000F:
        raise LookupError(f"DNS error code {flags & 0xF} for {name}")
    offset = 12
    for _ in range(qdcount):
        _, offset = _decode_name(packet, offset)
        offset += 4
    records = []
    for section, count in (("answer", ancount), ("authority", nscount), ("additional", arcount)):
        for _ in range(count):
            owner, offset = _decode_name(packet, offset)
            rtype, _rclass, _ttl, rdlength = struct.unpack(">HHIH", packet[offset:offset + 10])
            offset += 10
            records.append((section, owner.lower(), rtype, offset, rdlength, packet))
            offset += rdlength
    return records


def lookup_a(server, host, timeout=3.0):
    return [socket.inet_ntoa(p[o:o + 4]) for s, _, t, o, n, p in _ask(server, host, TYPE_A, timeout) if t == TYPE_A and s == "answer"]


def lookup_mx(server, domain, timeout=3.0):
    """[(preference, exchanger, [addresses])], lowest preference first."""
    records = _ask(server, domain, TYPE_MX, timeout)
    glue = {}
    for section, owner, rtype, offset, length, packet in records:
        if rtype == TYPE_A and section == "additional":
            glue.setdefault(owner, []).append(socket.inet_ntoa(packet[offset:offset + 4]))
    exchangers = []
    for section, owner, rtype, offset, length, packet in records:
        if rtype == TYPE_MX and section == "answer":
            preference = struct.unpack(">H", packet[offset:offset + 2])[0]
            host, _ = _decode_name(packet, offset + 2)
            host = host.lower()
            addresses = glue.get(host) or lookup_a(server, host, timeout)
            exchangers.append((preference, host, addresses))
    return sorted(exchangers)
