"""./mailcluster bench-scrape: what Prometheus's scrape of /metrics costs each node.

Per node (MAILCLUSTER_METRICS): the node's CPU while idle for the run's length (the baseline),
then while it answers `--scrapes` GETs of /metrics with the webadmin secret, one after another;
the difference per scrape is the scrape's CPU cost. Also the answer's size and time. The queue
figures come from RabbitMQ's management API at most once per 5 s per node (QueueDepths), the
health checks at most once per 15 s (HealthGauges): back-to-back scrapes see those caches, a
Prometheus scraping every 15-30 s does not, so the first scrape of each node (caches cold) is
reported on its own.
"""
import json
import os
import time
import urllib.request

from . import cluster, procstats, report
from .run import percentile, say


def scrape(url, authorization):
    request = urllib.request.Request(url, headers={"Authorization": authorization})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as answer:
        body = answer.read()
    return time.perf_counter() - started, len(body)


def node_cpu(pid):
    usage = procstats.tree_usage(pid)
    if usage is None:
        raise SystemExit(f"bench-scrape: the node (pid {pid}) is gone")
    return usage[0]


def measure(name, url, pid, authorization, scrapes):
    # caches cold: wait out QueueDepths' 5 s and HealthGauges' 15 s
    time.sleep(16)
    cold_time, cold_bytes = scrape(url, authorization)
    times, sizes = [], []
    cpu_before, started = node_cpu(pid), time.monotonic()
    for _ in range(scrapes):
        t, size = scrape(url, authorization)
        times.append(t)
        sizes.append(size)
    elapsed = time.monotonic() - started
    cpu_scraping = node_cpu(pid) - cpu_before
    idle_before = node_cpu(pid)
    time.sleep(elapsed)
    cpu_idle = node_cpu(pid) - idle_before
    per_scrape = max(cpu_scraping - cpu_idle, 0.0) / scrapes
    times.sort()
    say(f"{name}: {per_scrape * 1000:.1f} ms CPU per scrape, {sum(sizes) / len(sizes) / 1024:.1f} KiB, "
        f"p50 {percentile(times, 50) * 1000:.0f} ms; cold {cold_time * 1000:.0f} ms")
    return {"node": name, "url": url, "scrapes": scrapes,
            "cpu_ms_per_scrape": round(per_scrape * 1000, 2),
            "cpu_s_scraping": round(cpu_scraping, 3), "cpu_s_idle_same_time": round(cpu_idle, 3),
            "bytes_per_scrape": round(sum(sizes) / len(sizes)),
            "time_ms_p50": round(percentile(times, 50) * 1000, 1), "time_ms_p99": round(percentile(times, 99) * 1000, 1),
            "cold_time_ms": round(cold_time * 1000, 1), "cold_bytes": cold_bytes}


def markdown(document):
    lines = ["# Scrape cost of /metrics per node", "",
             f"Run {document['started']} on {document['machine'].get('cores', '?')} cores; "
             f"`{document['command']}`. {document['scrapes']} scrapes per node, back to back, "
             "after one with cold caches; CPU per scrape is the node's CPU while scraping minus "
             "its CPU while idle for as long.", "",
             "| node | CPU ms / scrape | bytes / scrape | time p50 | time p99 | cold scrape |",
             "|---|---|---|---|---|---|"]
    for n in document["nodes"]:
        lines.append(f"| {n['node']} | {n['cpu_ms_per_scrape']} | {n['bytes_per_scrape']} | {n['time_ms_p50']} ms "
                     f"| {n['time_ms_p99']} ms | {n['cold_time_ms']} ms |")
    lines += ["", "At Prometheus's usual 30 s interval, a node spends CPU per hour of "
              "120 x the figure above (e.g. 10 ms per scrape: 1.2 s an hour).", ""]
    return "\n".join(lines)


def main(args):
    env = cluster.env()
    authorization = env["MAILCLUSTER_WEBADMIN_AUTH"].split(":", 1)[1].strip()
    urls = env["MAILCLUSTER_METRICS"].split(",")
    names = cluster.node_names()
    pids = cluster.component_pids(names)
    document = {"started": report.now_utc(), "machine": report.machine_info(),
                "command": f"./mailcluster bench-scrape --scrapes {args.scrapes}", "scrapes": args.scrapes, "nodes": []}
    addresses = dict(entry.split("=", 1) for entry in env["MAILCLUSTER_NODES"].split(","))
    for name, address in addresses.items():
        url = next(u for u in urls if f"//{address}:" in u)
        document["nodes"].append(measure(name, url, pids[name], authorization, args.scrapes))
    os.makedirs(args.out, exist_ok=True)
    report.write_json(os.path.join(args.out, "scrape.json"), document)
    with open(os.path.join(args.out, "scrape.md"), "w") as f:
        f.write(markdown(document))
    say(f"report: {os.path.join(args.out, 'scrape.md')}")
