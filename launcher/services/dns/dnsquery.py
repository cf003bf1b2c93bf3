#!/usr/bin/env python3
"""The DNS server's probe: asks one question and prints the answers.

usage: dnsquery.py SERVER PORT NAME TYPE   (TYPE: A or MX)
prints one answer per line: "A 127.0.1.1" or "MX 10 mx1.mail.test";
exits 1 when the server does not answer or answers with an error code.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
from dnsclient import lookup_a, lookup_mx  # noqa: E402


def main():
    server, port, name, qtype = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].upper()
    try:
        if qtype == "MX":
            answers = ["MX %d %s" % (preference, host) for preference, host, _ in lookup_mx((server, port), name)]
        else:
            answers = ["A " + address for address in lookup_a((server, port), name)]
    except (OSError, IndexError, LookupError, struct.error):
        sys.exit(1)
    print("\n".join(answers))
    sys.exit(0 if answers else 1)


if __name__ == "__main__":
    main()
