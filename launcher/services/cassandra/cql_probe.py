#!/usr/bin/env python3
"""A minimal CQL client (native protocol v4, standard library only).

Usage: cql_probe.py HOST PORT [STATEMENT...]

Runs each statement in order on one connection, at consistency ONE (override
with CQL_CONSISTENCY=QUORUM, LOCAL_ONE, ...). Rows results are printed as
tab-separated lines, no header; null prints as NULL. Types text/varchar/ascii,
int/bigint/smallint/tinyint/counter/varint, uuid/timeuuid, boolean, double/float,
timestamp (milliseconds since the epoch) and inet are decoded, anything else
is printed as 0x-prefixed hex. Other results print nothing. Without a statement
it runs "SELECT release_version FROM system.local" (so it prints the server's
version). Exit status: 0 on success, 1 on a server error or connection
failure (message on stderr), 2 on bad usage. CQL_TIMEOUT sets the socket
timeout in seconds (default 30).
"""
import os
import socket
import struct
import sys
import uuid

VERSION = 0x04
OP_ERROR, OP_STARTUP, OP_READY, OP_AUTHENTICATE, OP_OPTIONS = 0x00, 0x01, 0x02, 0x03, 0x05
OP_QUERY, OP_RESULT = 0x07, 0x08
CONSISTENCY = {"ANY": 0, "ONE": 1, "TWO": 2, "THREE": 3, "QUORUM": 4, "ALL": 5,
               "LOCAL_QUORUM": 6, "EACH_QUORUM": 7, "SERIAL": 8, "LOCAL_SERIAL": 9,
               "LOCAL_ONE": 10}


class CqlError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise CqlError("truncated frame from server")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def short(self):
        return struct.unpack(">H", self.take(2))[0]

    def string(self):
        return self.take(self.short()).decode("utf-8")

    def bytes(self):
        n = self.int()
        return None if n < 0 else self.take(n)

    def option(self):
        """Reads a column type; returns (id, sub-types)."""
        type_id = self.short()
        if type_id == 0x0000:                       # custom: class name
            return (type_id, self.string())
        if type_id in (0x0020, 0x0022):             # list, set
            return (type_id, self.option())
        if type_id == 0x0021:                       # map
            return (type_id, (self.option(), self.option()))
        if type_id == 0x0030:                       # UDT
            self.string(), self.string()
            return (type_id, [(self.string(), self.option()) for _ in range(self.short())])
        if type_id == 0x0031:                       # tuple
            return (type_id, [self.option() for _ in range(self.short())])
        return (type_id, None)


def decode(type_id, value):
    if value is None:
        return "NULL"
    if type_id in (0x0001, 0x000D):                 # ascii, varchar/text
        return value.decode("utf-8", "replace")
    if type_id in (0x0002, 0x0005, 0x0009, 0x000B, 0x000E, 0x0013, 0x0014):
        # bigint, counter, int, timestamp, varint, smallint, tinyint
        return str(int.from_bytes(value, "big", signed=True))
    if type_id in (0x000C, 0x000F) and len(value) == 16:  # uuid, timeuuid
        return str(uuid.UUID(bytes=value))
    if type_id == 0x0004 and len(value) == 1:       # boolean
        return "true" if value[0] else "false"
    if type_id == 0x0007 and len(value) == 8:       # double
        return repr(struct.unpack(">d", value)[0])
    if type_id == 0x0008 and len(value) == 4:       # float
        return repr(struct.unpack(">f", value)[0])
    if type_id == 0x0010 and len(value) in (4, 16):  # inet
        family = socket.AF_INET if len(value) == 4 else socket.AF_INET6
        return socket.inet_ntop(family, value)
    return "0x" + value.hex()


class Connection:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.stream = 0

    def request(self, opcode, body):
        self.stream = (self.stream + 1) % 32768
        self.sock.sendall(struct.pack(">BBhBi", VERSION, 0, self.stream, opcode, len(body)) + body)
        while True:
            header = self.recv(9)
            version, flags, stream, op, length = struct.unpack(">BBhBi", header)
            body = self.recv(length)
            if version != (0x80 | VERSION):
                raise CqlError("unexpected protocol version 0x%02x from server" % version)
            if stream == self.stream:
                break                               # anything else: not ours
        reader = Reader(body)
        if flags & 0x02:                            # tracing id
            reader.take(16)
        if flags & 0x08:                            # warnings
            for _ in range(reader.short()):
                sys.stderr.write("warning: %s\n" % reader.string())
        if flags & 0x04:                            # custom payload
            for _ in range(reader.short()):
                reader.string(), reader.bytes()
        if op == OP_ERROR:
            code = reader.int()
            raise CqlError("server error 0x%04x: %s" % (code, reader.string()))
        return op, reader

    def recv(self, n):
        chunks, left = [], n
        while left:
            chunk = self.sock.recv(left)
            if not chunk:
                raise CqlError("connection closed by server")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def startup(self):
        body = struct.pack(">H", 1)
        for s in ("CQL_VERSION", "3.0.0"):
            b = s.encode()
            body += struct.pack(">H", len(b)) + b
        op, _ = self.request(OP_STARTUP, body)
        if op == OP_AUTHENTICATE:
            raise CqlError("server requires authentication, which this client does not do")
        if op != OP_READY:
            raise CqlError("unexpected reply 0x%02x to STARTUP" % op)

    def query(self, cql, consistency):
        q = cql.encode("utf-8")
        body = struct.pack(">i", len(q)) + q + struct.pack(">HB", consistency, 0)
        op, reader = self.request(OP_QUERY, body)
        if op != OP_RESULT:
            raise CqlError("unexpected reply 0x%02x to QUERY" % op)
        if reader.int() != 0x0002:                  # not Rows: void, set keyspace, schema change
            return None
        flags, count = reader.int(), reader.int()
        if flags & 0x0002:                          # has more pages: paging state
            reader.bytes()
        types = []
        if not flags & 0x0004:                      # metadata present
            if flags & 0x0001:                      # global table spec
                reader.string(), reader.string()
            for _ in range(count):
                if not flags & 0x0001:
                    reader.string(), reader.string()
                reader.string()
                types.append(reader.option()[0])
        else:
            types = [None] * count
        rows = []
        for _ in range(reader.int()):
            rows.append([decode(t, reader.bytes()) for t in types])
        return rows

    def close(self):
        self.sock.close()


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: cql_probe.py HOST PORT [STATEMENT...]\n")
        return 2
    host, port = argv[1], int(argv[2])
    statements = argv[3:] or ["SELECT release_version FROM system.local"]
    level = os.environ.get("CQL_CONSISTENCY", "ONE").upper()
    if level not in CONSISTENCY:
        sys.stderr.write("unknown consistency level %s\n" % level)
        return 2
    try:
        conn = Connection(host, port, float(os.environ.get("CQL_TIMEOUT", "30")))
        try:
            conn.startup()
            for cql in statements:
                rows = conn.query(cql, CONSISTENCY[level])
                for row in rows or ():
                    sys.stdout.write("\t".join(row) + "\n")
        finally:
            conn.close()
    except (OSError, CqlError) as e:
        sys.stderr.write("cql_probe: %s:%d: %s\n" % (host, port, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
