"""./mailcluster bench-scanners: what scanning costs a message, scanner by scanner.

The benchmark's own messages (~10 KB, a third with a PDF attachment) go straight to the
running cluster's rspamd (POST /checkv2, with the envelope the nodes send) and clamd
(INSTREAM), one at a time and then several at once; reported: time per message (p50, p99),
messages/s, and the memory (RSS) of each scanner with its workers.
"""
import json
import os
import threading
import time
import urllib.request

from . import cluster, procstats, report
from .run import percentile, say
from .workload import Workload


def rspamd_check(url, message, n):
    request = urllib.request.Request(url + "/checkv2", data=message, method="POST", headers={
        "IP": f"192.0.2.{n % 250 + 1}", "Helo": "smtp-out.load.example.org",
        "From": f"sender{n % 97}@load.example.org", "Rcpt": "bench-01@mail.test"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        verdict = json.load(answer)
    if "action" not in verdict:
        raise RuntimeError(f"rspamd answered without an action: {verdict}")


def _clamdproto():
    """The launcher's own client of clamd's protocol (launcher/services/clamav/clamdproto.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "clamdproto", os.path.join(cluster.ROOT, "launcher", "services", "clamav", "clamdproto.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clamd_scan(clamdproto, address, message, n):
    answer = clamdproto.ask(address[0], address[1], b"INSTREAM", message)
    if not answer.endswith("OK"):
        raise RuntimeError(f"clamd: {answer!r}")


def measure(scan, messages, concurrency):
    """(latencies in seconds, messages/s) of scanning every message with `concurrency` threads."""
    latencies, lock, queue = [], threading.Lock(), list(enumerate(messages))

    def worker():
        while True:
            with lock:
                if not queue:
                    return
                n, message = queue.pop()
            started = time.perf_counter()
            scan(message, n)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies), len(messages) / (time.perf_counter() - started)


def scanner_rss_mb(name):
    pid = cluster.component_pids([name]).get(name)
    usage = procstats.tree_usage(pid) if pid else None
    return round(usage[1] / 2**20, 1) if usage else None


def run(args):
    env = cluster.env()
    messages = [Workload("s", ["bench-01@mail.test"]).message(n) for n in range(args.messages)]
    rspamd_url = env["MAILCLUSTER_RSPAMD"].rstrip("/")
    clamd = cluster.host_port(env["MAILCLUSTER_CLAMAV"], 3310)
    clamdproto = _clamdproto()
    scanners = {"rspamd": lambda m, n: rspamd_check(rspamd_url, m, n),
                "clamd": lambda m, n: clamd_scan(clamdproto, clamd, m, n)}
    document = {"started": report.now_utc(), "machine": report.machine_info(),
                "command": f"./mailcluster bench-scanners --messages {args.messages}",
                "message_bytes": round(sum(len(m) for m in messages) / len(messages)), "scanners": {}}
    for name, scan in scanners.items():
        measure(scan, messages[:20], 1)   # warm-up
        figures = {}
        for concurrency in (1, 4):
            latencies, rate = measure(scan, messages, concurrency)
            figures[str(concurrency)] = {"p50_ms": round(1000 * percentile(latencies, 50), 1),
                                         "p99_ms": round(1000 * percentile(latencies, 99), 1),
                                         "per_second": round(rate, 1)}
            say(f"{name}, {concurrency} at a time: {figures[str(concurrency)]}")
        component = "rspamd" if name == "rspamd" else "clamav"
        document["scanners"][name] = {"concurrency": figures, "rss_mb": scanner_rss_mb(component)}
    return document


def markdown(document):
    lines = [f"# Scanners, message by message: {document['started']}", "",
             f"`{document['command']}`. Machine: {document['machine'].get('cores')} cores. "
             f"The benchmark's messages (~{document['message_bytes']} bytes, a third with a PDF attachment) "
             "sent straight to the local cluster's scanners, as the MX and submission nodes send them.", "",
             "| scanner | at a time | p50 | p99 | messages/s | memory (RSS, with workers) |",
             "|---|---|---|---|---|---|"]
    for name, s in document["scanners"].items():
        for concurrency, f in s["concurrency"].items():
            lines.append(f"| {name} | {concurrency} | {f['p50_ms']} ms | {f['p99_ms']} ms | {f['per_second']} | "
                         f"{s['rss_mb']} MB |")
    return "\n".join(lines) + "\n"


def main(args):
    document = run(args)
    os.makedirs(args.out, exist_ok=True)
    report.write_json(os.path.join(args.out, "scanners.json"), document)
    with open(os.path.join(args.out, "scanners.md"), "w") as f:
        f.write(markdown(document))
    print(f"reports: {args.out}/scanners.json, scanners.md")
    return 0
