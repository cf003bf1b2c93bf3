#!/usr/bin/env python3
"""An independent DKIM verifier for the tests: Debian's python3-dkim (dkimpy).

Reads one message on stdin and verifies its first DKIM-Signature, looking the key up in the
cluster's DNS (argv[1] = ADDRESS:PORT). Extra "NAME=TXT" arguments answer those names
instead (a key added through webadmin, whose record the cluster DNS does not serve).
Prints "pass" or "fail: reason"; exits 0 on pass, 1 on fail, 2 when it cannot verify at all.
"""
import sys

try:
    import dkim
    import dns.resolver
except ImportError as missing:
    print("python3-dkim or python3-dnspython is missing (./mailcluster test installs them): %s" % missing)
    sys.exit(2)


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    overrides = dict(arg.split("=", 1) for arg in sys.argv[2:])
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)

    def txt(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        name = name.rstrip(".")
        if name in overrides:
            return overrides[name].encode()
        try:
            answer = resolver.resolve(name, "TXT", lifetime=timeout)
        except Exception:
            return None
        return b"".join(b"".join(record.strings) for record in answer)

    message = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    verifier = dkim.DKIM(message)
    try:
        ok = verifier.verify(dnsfunc=txt)
    except dkim.DKIMException as e:
        print("fail: %s" % e)
        sys.exit(1)
    if ok:
        print("pass")
        sys.exit(0)
    print("fail: signature does not verify")
    sys.exit(1)


main()
