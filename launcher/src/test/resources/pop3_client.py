#!/usr/bin/env python3
"""A POP3 mail client for the tests: Python's own poplib, as a user's script would use it.

    pop3_client.py HOST:PORT CERT.pem USER PASSWORD ACTION [ARG]

CERT.pem is the cluster's certificate, which the client trusts (the chain is verified; the
name is not, as the nodes are reached by loopback address). Actions:
  plain-login          USER before STLS on a plain connection; prints the server's answer
  fetch-delete SUBJECT STLS, log in, retrieve every message, DELE the one with SUBJECT, QUIT;
                       prints "listed N", "retrieved" + the message, "deleted"
  implicit-stat        POP3 over implicit TLS (995): log in, print "stat N SIZE"
Exits 0 when the action ran, 1 when the server refused something, printing its answer.
"""
import poplib
import ssl
import sys


def context(cert):
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    return ctx


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    cert, user, password, action = sys.argv[2:6]
    arg = sys.argv[6] if len(sys.argv) > 6 else None
    try:
        if action == "plain-login":
            pop = poplib.POP3(host, int(port), timeout=30)
            try:
                print(pop.user(user).decode())
            except poplib.error_proto as refused:
                print(refused.args[0].decode())
            pop.quit()
        elif action == "fetch-delete":
            pop = poplib.POP3(host, int(port), timeout=30)
            pop.stls(context(cert))
            pop.user(user)
            pop.pass_(password)
            listing = pop.list()[1]
            print("listed %d" % len(listing))
            for entry in listing:
                number = int(entry.split()[0])
                lines = pop.retr(number)[1]
                text = b"\r\n".join(lines).decode("utf-8", "replace")
                if ("Subject: " + arg) in text:
                    print("retrieved")
                    print(text)
                    pop.dele(number)
                    print("deleted")
            pop.quit()
        elif action == "implicit-stat":
            pop = poplib.POP3_SSL(host, int(port), timeout=30, context=context(cert))
            pop.user(user)
            pop.pass_(password)
            count, size = pop.stat()
            print("stat %d %d" % (count, size))
            pop.quit()
        else:
            print("unknown action " + action)
            return 2
    except poplib.error_proto as refused:
        print("refused: " + refused.args[0].decode("utf-8", "replace"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
