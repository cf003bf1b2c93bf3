"""./mailcluster bench-outbound: the outbound tier through its load balancer.

Three figures, on the running local cluster, with users' mail (STARTTLS, AUTH, one user)
to the outside world (Postfix's smtp-sink as the remote MX):

- the latency haproxy adds: the same sessions and messages straight to submission1 and
  through smtp-lb (session setup: connect, EHLO, STARTTLS, EHLO, AUTH; and one message:
  MAIL, RCPT, DATA);
- messages/s through the balancer with both submission nodes, then with one (submission2
  killed), every accepted message counted at the outside MX;
- how long a killed node takes to leave haproxy's rotation, and a restarted one to come back.
"""
import os
import socket
import statistics
import time

from . import cluster, report
from .run import say
from .sender import new_smtp, start_tls_and_login

ADMIN_SOCKET = os.path.join(cluster.VAR, "smtp-lb", "admin.sock")


def rotation():
    """{server: haproxy's status (UP, DOWN, ...)} of the 587 backend, from its stats socket."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(ADMIN_SOCKET)
    s.sendall(b"show stat\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    rows = [line.split(",") for line in data.decode().splitlines() if line and not line.startswith("#")]
    return {r[1]: r[17] for r in rows if r[0] == "submission-nodes" and r[1] not in ("FRONTEND", "BACKEND")}


def await_status(server, wanted, timeout=120):
    """Seconds until `server`'s status starts with `wanted`, polled every 100 ms."""
    started = time.time()
    while time.time() - started < timeout:
        if rotation().get(server, "").startswith(wanted):
            return round(time.time() - started, 2)
        time.sleep(0.1)
    raise RuntimeError(f"{server} was not {wanted} in haproxy's rotation within {timeout} s")


def session_latency(address, login, workload, sessions, per_session):
    """(setup seconds, per-message seconds) lists for `sessions` sessions of `per_session` messages."""
    setups, messages = [], []
    n = 0
    for _ in range(sessions):
        started = time.perf_counter()
        smtp = new_smtp(address, 30)
        smtp.connect(address[0], address[1])
        smtp.ehlo("bench.client.test")
        refusal = start_tls_and_login(smtp, login, "bench.client.test")
        if refusal:
            raise RuntimeError(f"{address}: {refusal}")
        setups.append(time.perf_counter() - started)
        for _ in range(per_session):
            started = time.perf_counter()
            code, reply = smtp.mail(workload.sender(n))
            if code == 250:
                code, reply = smtp.rcpt(workload.recipient(n))
            if code == 250:
                code, reply = smtp.data(workload.message(n))
            if code != 250:
                raise RuntimeError(f"{address}: {code} {reply!r}")
            messages.append(time.perf_counter() - started)
            n += 1
        smtp.quit()
    return setups, messages


def ms(values):
    ordered = sorted(values)
    return {"median_ms": round(1000 * statistics.median(ordered), 1),
            "p90_ms": round(1000 * ordered[int(0.9 * (len(ordered) - 1))], 1)}


def markdown(document):
    lat, runs, rot = document["latency"], document["throughput"], document["rotation"]
    lines = [f"# Outbound tier through the load balancer: {document['started']}", "",
             f"`{document['command']}`. Machine: {document['machine'].get('cores')} cores, {document['machine'].get('ram_gb')} GB. "
             "One user (STARTTLS, AUTH) sends ~10 KB messages to the remote test domain, whose MX is "
             "Postfix's smtp-sink; delivered means received there.", "",
             "## Latency haproxy adds", "",
             f"{lat['sessions']} sessions of {lat['per_session']} messages each way, one at a time, the two paths in turn; "
             "direct sessions go to each submission node in turn (plain listener), the balancer's to the node it picks "
             "(PROXY listener).", "",
             "| path | session setup, median | p90 | one message, median | p90 |", "|---|---|---|---|---|"]
    for path in ("direct", "smtp-lb"):
        s, m = lat[path]["setup"], lat[path]["message"]
        lines.append(f"| {path} | {s['median_ms']} ms | {s['p90_ms']} ms | {m['median_ms']} ms | {m['p90_ms']} ms |")
    lines += ["", "## Throughput through smtp-lb", "",
              "| submission nodes | messages | concurrency | accepted/s | delivered/s | accepted | at the outside MX | lost | duplicated | temp failures |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in runs.items():
        lines.append(f"| {name} | {r['messages']} | {r['concurrency']} | {r['accepted_per_second']} | "
                     f"{r['delivered_per_second']} | {r['accepted']} | {r['delivered']} | {r['lost']} | "
                     f"{r['duplicated']} | {r['temporary_failures']} |")
    lines += ["", "## Rotation", "",
              f"- kill -9 of submission2 until haproxy marks it DOWN: {rot['leave_seconds']} s "
              "(health check every second, down after two failures)",
              f"- `nodes.sh start-one submission2` returned after {rot['restart_seconds']} s "
              f"(it waits until the node is healthy); haproxy had it UP {rot['back_seconds']} s after that", ""]
    return "\n".join(lines)


def run(args, env, webadmin, outside, login, target, workload_for, run_load):
    """The three measurements; submission2 is running again at the end whatever happens."""
    from .__main__ import sh   # the launcher's verbs, run from the checkout
    document = {"started": report.now_utc(), "command": "./mailcluster bench-outbound "
                f"--messages {args.messages} --concurrency {args.concurrency}",
                "machine": report.machine_info()}
    lb = cluster.host_port(env["MAILCLUSTER_SMTP_LB"], 587)
    # straight to each node in turn, as the balancer spreads sessions over both
    nodes = dict(entry.split("=", 1) for entry in env["MAILCLUSTER_NODES"].split(",") if "=" in entry)
    directs = [(address, 587) for name, address in sorted(nodes.items()) if name.startswith("submission")]
    direct = directs[0]
    rounds, per_session = 40, 5
    latency = {"sessions": rounds, "per_session": per_session}
    samples = {"direct": ([], []), "smtp-lb": ([], [])}
    session_latency(direct, login, workload_for("w"), 5, per_session)   # warm-up, not counted
    for i in range(rounds):
        # one session each way in turn, so that a slower moment of the machine hits both paths
        for path, address in (("direct", directs[i % len(directs)]), ("smtp-lb", lb)):
            setups, messages = session_latency(address, login, workload_for("l"), 1, per_session)
            samples[path][0].extend(setups)
            samples[path][1].extend(messages)
    for path, (setups, messages) in samples.items():
        latency[path] = {"setup": ms(setups), "message": ms(messages)}
    document["latency"] = latency
    say(f"latency: direct {latency['direct']}, smtp-lb {latency['smtp-lb']}")

    throughput = {}
    throughput["2"] = run_load(target, workload_for("a"), args.messages, args.concurrency,
                               time.time() + 600, time.time() + 900, settle_seconds=3.0, login=login)
    rot = {}
    try:
        code, output = sh("bash", "launcher/nodes.sh", "kill", "submission2")
        if code != 0:
            raise RuntimeError(f"nodes.sh kill submission2: {output}")
        rot["leave_seconds"] = await_status("submission2", "DOWN")
        throughput["1"] = run_load(target, workload_for("b"), args.messages, args.concurrency,
                                   time.time() + 600, time.time() + 900, settle_seconds=3.0, login=login)
    finally:
        started = time.time()
        code, output = sh("bash", "launcher/nodes.sh", "start-one", "submission2")
        rot["restart_seconds"] = round(time.time() - started, 1)
        if code != 0:
            raise RuntimeError(f"nodes.sh start-one submission2: {output}")
    rot["back_seconds"] = await_status("submission2", "UP")
    # both nodes again: the first run also warmed the nodes up, this one is comparable to the one-node run
    throughput["2, again"] = run_load(target, workload_for("c"), args.messages, args.concurrency,
                                      time.time() + 600, time.time() + 900, settle_seconds=3.0, login=login)
    document["rotation"] = rot
    document["throughput"] = {k: {key: v for key, v in r.items() if key not in ("series", "lost_tokens_all")}
                              for k, r in throughput.items()}
    return document
