"""Reports: JSON (everything), Markdown (the tables people read), PNG charts, and a
short summary for the terminal."""
import json
import os
import platform
import subprocess
import time


def machine_info():
    info = {"kernel": platform.release(), "cores": os.cpu_count(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
        with open("/proc/meminfo") as f:
            info["ram_gb"] = round(int(f.readline().split()[1]) / 2**20, 1)
        with open("/etc/os-release") as f:
            info["os"] = next((l.split("=", 1)[1].strip().strip('"') for l in f if l.startswith("PRETTY_NAME")), None)
        with open("/proc/loadavg") as f:
            info["load_average_at_start"] = f.read().split()[:3]
    except OSError:
        pass
    for name, argv in (("java", ["java", "-version"]), ("postfix", ["postconf", "-dh", "mail_version"]),
                       ("dovecot", ["dovecot", "--version"])):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            info[name] = (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            info[name] = None
    return info


def _strip_series(run):
    return {k: v for k, v in run.items() if k != "series"}


def write_json(path, document):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")


def _fmt(value, unit=""):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}{unit}" if value < 10 else f"{value:,.1f}{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


def _ratio(ours, theirs):
    if ours is None or theirs in (None, 0):
        return None
    return round(ours / theirs, 3)


def ratios(cluster, reference):
    """Our figures as a ratio of the reference's (throughput: >1 is better; latency, CPU: <1 is better)."""
    return {
        "accepted_per_second": _ratio(cluster["accepted_per_second"], reference["accepted_per_second"]),
        "delivered_per_second": _ratio(cluster["delivered_per_second"], reference["delivered_per_second"]),
        "latency_p50": _ratio(cluster["latency_seconds"]["p50"], reference["latency_seconds"]["p50"]),
        "latency_p95": _ratio(cluster["latency_seconds"]["p95"], reference["latency_seconds"]["p95"]),
        "latency_p99": _ratio(cluster["latency_seconds"]["p99"], reference["latency_seconds"]["p99"]),
        "cpu_seconds_per_1000_delivered": _ratio(cluster["cpu_seconds_per_1000_delivered"],
                                                 reference["cpu_seconds_per_1000_delivered"]),
    }


def bench_markdown(document, prefix=""):
    runs = document["runs"]
    names = list(runs)
    rate = document["settings"].get("rate")
    paced = f", new messages paced at {rate} msgs/s on each side" if rate else ""
    lines = [f"# Benchmark{' (paced)' if rate else ''}: {document['started']}", "",
             f"`{document['command']}`: {document['settings']['messages']} messages of about 10 KB "
             f"(multipart/alternative, a third with a PDF attached) to {document['settings']['users']} "
             f"recipients, {document['settings']['concurrency']} concurrent SMTP connections, up to "
             f"{document['settings']['messages_per_connection']} messages per connection{paced}.", ""]
    m = document["machine"]
    lines += [f"Machine: {m.get('cores')} cores ({m.get('cpu')}), {m.get('ram_gb')} GB RAM, kernel {m.get('kernel')}, "
              f"{m.get('os')}; load average at start {' '.join(m.get('load_average_at_start', []))}. "
              f"{m.get('java')}; Postfix {m.get('postfix')}; Dovecot {m.get('dovecot')}.", ""]
    header = "| | " + " | ".join(names) + (" | ours / theirs |" if "ratios" in document else " |")
    lines += [header, "|---" * (len(names) + 1 + ("ratios" in document)) + "|"]
    r = document.get("ratios", {})

    def row(label, getter, ratio_key=None, unit=""):
        cells = [_fmt(getter(runs[n]), unit) for n in names]
        extra = [_fmt(r.get(ratio_key)) if ratio_key else ""] if "ratios" in document else []
        lines.append(f"| {label} | " + " | ".join(cells + extra) + " |")

    row("messages sent", lambda x: x["sent"])
    row("accepted (250)", lambda x: x["accepted"])
    row("delivered (visible in the mailbox)", lambda x: x["delivered"])
    row("lost (accepted, not delivered)", lambda x: x["lost"])
    row("… of which in an error repository", lambda x: x.get("lost_in_error_repositories"))
    row("duplicated", lambda x: x["duplicated"])
    row("senders' temporary failures", lambda x: x["temporary_failures"])
    row("accepted msgs/s", lambda x: x["accepted_per_second"], "accepted_per_second")
    row("delivered msgs/s", lambda x: x["delivered_per_second"], "delivered_per_second")
    row("latency 250 → visible p50", lambda x: x["latency_seconds"]["p50"], "latency_p50", " s")
    row("latency p95", lambda x: x["latency_seconds"]["p95"], "latency_p95", " s")
    row("latency p99", lambda x: x["latency_seconds"]["p99"], "latency_p99", " s")
    row("CPU seconds per 1000 delivered", lambda x: x["cpu_seconds_per_1000_delivered"], "cpu_seconds_per_1000_delivered")
    row("machine CPU busy during the run", lambda x: x["machine_cpu_busy_percent"], None, " %")
    row("CPU s of other processes meanwhile", lambda x: x.get("other_processes_cpu_seconds"))
    lines += ["", "Latency is measured by polling (IMAP for the cluster, the Maildirs for the reference) every "
              f"{document['settings']['poll_interval']} s, so it is known to within that interval.", ""]
    if document.get("durability"):
        lines += ["## Durability: what a `250` survives", ""]
        lines += [f"- **{n}**: {text}" for n, text in document["durability"].items()] + [""]
    for n in names:
        lines += [f"## CPU and memory: {n}", "", "| component | CPU s | CPU % of one core | RSS peak MB |", "|---|---|---|---|"]
        for comp, usage in runs[n]["resources"].items():
            lines.append(f"| {comp} | {usage['cpu_seconds']} | {usage['cpu_percent_of_one_core']} | {usage['rss_peak_mb']} |")
        lines.append("")
    if document.get("profile"):
        lines += profile_markdown(document["profile"])
    lines += [f"![throughput]({prefix}throughput.png)", "", f"![latency]({prefix}latency.png)", ""]
    if document.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in document["notes"]] + [""]
    return "\n".join(lines)


def profile_markdown(profile):
    lines = ["## Profile of the cluster run (`--profile`)", "",
             "JFR CPU samples of each JVM for the whole cluster run (Java frames, every 10 ms). "
             "Flame graphs: " + ", ".join(f"[{n}]({f})" for n, f in profile["flame_graphs"].items()) + ".", ""]
    for name, hot in profile["hottest_frames"].items():
        lines += [f"**{name}** ({hot['samples']:,} samples of threads running Java code): the frames the CPU "
                  "was in (self), and the project's, James's or the backend's own methods by the share of "
                  "samples they are on the stack of:", "",
                  "| self | % | on the stack | % |", "|---|---|---|---|"]
        pairs = list(zip(hot["self"][:10], hot.get("on_stack", [])[:10]))
        lines += [f"| `{a}` | {x} | `{b}` | {y} |" for (a, x), (b, y) in pairs] + [""]
    rows = profile.get("cassandra_per_message") or []
    if rows:
        lines += ["Cassandra statements per delivered message (its `system_views` counters; coordinator counts "
                  "are what the nodes asked, `system.paxos` local ones the lightweight transactions' rounds):", "",
                  "| table | kind | count | per message |", "|---|---|---|---|"]
        lines += [f"| {t} | {k} | {c:,} | {m} |" for t, k, c, m in rows] + [""]
    if profile.get("problems"):
        lines += ["Profiling problems: " + "; ".join(profile["problems"]), ""]
    return lines


def charts(document, out_dir, prefix=""):
    """throughput.png and latency.png; skipped (with a note) when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no charts"
    runs = document["runs"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, run in runs.items():
        for key, label, style in (("accepted_at", "accepted", "-"), ("visible_at", "delivered", "--")):
            times = run["series"][key]
            if not times:
                continue
            width = max(1, int(times[-1] // 60) or 1)   # bucket of 1 s, wider for long runs
            buckets = [0] * (int(times[-1] // width) + 1)
            for t in times:
                buckets[int(t // width)] += 1
            ax.plot([i * width for i in range(len(buckets))], [b / width for b in buckets], style,
                    label=f"{name} {label}")
    ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("messages per second")
    ax.set_title("Throughput over time")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, prefix + "throughput.png"), dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, run in runs.items():
        values = run["series"]["latencies"]
        if values:
            ax.plot(values, [100 * (i + 1) / len(values) for i in range(len(values))], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("seconds from 250 to visible in the mailbox (log scale)")
    ax.set_ylabel("% of delivered messages")
    ax.set_title("Latency distribution (cumulative)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, prefix + "latency.png"), dpi=100)
    plt.close(fig)
    return None


def bench_summary(document):
    lines = []
    for name, run in document["runs"].items():
        lat = run["latency_seconds"]
        lines.append(f"{name:12s} sent {run['sent']}, accepted {run['accepted']}, delivered {run['delivered']}, "
                     f"lost {run['lost']}, duplicated {run['duplicated']}, temp failures {run['temporary_failures']}; "
                     f"{_fmt(run['accepted_per_second'])} accepted/s, {_fmt(run['delivered_per_second'])} delivered/s; "
                     f"latency p50/p95/p99 {_fmt(lat['p50'])}/{_fmt(lat['p95'])}/{_fmt(lat['p99'])} s; "
                     f"{_fmt(run['cpu_seconds_per_1000_delivered'])} CPU s per 1000")
    if "ratios" in document:
        r = document["ratios"]
        lines.append("ours/theirs: " + ", ".join(f"{k} {_fmt(v)}" for k, v in r.items()))
    return "\n".join(lines)


def chaos_markdown(document):
    m = document["machine"]
    lines = [f"# Fault runs: {document['started']}", "",
             f"`{document['command']}`: each fault is injected under load once a third of the "
             f"{document['settings']['messages']} messages are accepted; senders behave as sending MTAs "
             "(retry another MX after a 4xx or a broken connection). Every message that got a 250 must be "
             "in its mailbox exactly once, and found by IMAP SEARCH on its Message-ID.", "",
             f"Machine: {m.get('cores')} cores, {m.get('ram_gb')} GB RAM, kernel {m.get('kernel')}.", "",
             "| fault | sent | accepted | not accepted |  delivered | lost (in an error repository) | duplicated (resent by the sender) | "
             "delivered without 250 | searchable (unsearchable) | temp failures | longest stall: 250s, deliveries | recovery | healthy after |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for fault in document["faults"]:
        run = fault["run"]
        if run is None:
            lines.append(f"| {fault['name']} | harness failure: {fault['harness_failure']} |" + " |" * 12)
            continue
        kinds = ", ".join(f"{k}: {v}" for k, v in run["temporary_failures_by_kind"].items())
        lines.append(f"| {fault['name']} | {run['sent']} | {run['accepted']} | {run['not_accepted']} | {run['delivered']} | "
                     f"{run['lost']} ({run.get('lost_in_error_repositories', '–')}) | "
                     f"{run['duplicated']} ({run.get('duplicated_after_unanswered_data', '–')}) | "
                     f"{run['delivered_without_250']} | {searchable_cell(run)} | {run['temporary_failures']}"
                     f"{f' ({kinds})' if kinds else ''} | {run.get('longest_accept_stall_seconds', '–')} s, "
                     f"{run.get('longest_delivery_stall_seconds', '–')} s | {fault.get('recovery_seconds', '–')} s | "
                     f"{'yes' if fault['healthy_after'] else 'NO: ' + ', '.join(fault['unhealthy_after'])} |")
    lines.append("")
    if document.get("membership_before"):
        lines += ["Replicated backends before the faults: " + membership_text(document["membership_before"]), ""]
    for fault in document["faults"]:
        lines += [f"## {fault['name']}", "", fault["description"], ""]
        lines += [f"- {e}" for e in fault["events"]]
        if fault.get("membership_after"):
            lines.append("- after the fault: " + membership_text(fault["membership_after"]))
        if fault["run"] is None:
            lines.append("")
            continue
        if fault["run"]["not_accepted_reasons"]:
            lines.append("- not accepted: " + ", ".join(f"{k}: {v}" for k, v in fault["run"]["not_accepted_reasons"].items()))
        if fault["run"]["lost_tokens"]:
            lines.append(f"- lost: {', '.join(fault['run']['lost_tokens'])}")
        for repository, tokens in fault["run"].get("error_repositories", {}).items():
            lines.append(f"- new in the error repository `{repository}`: {', '.join(tokens)}")
        if fault["run"]["duplicated_tokens"] and "extra_copies" in fault["run"]:
            lines.append(f"- extra copies in the mailboxes: {fault['run']['extra_copies']}")
        if fault["run"]["duplicated_tokens"]:
            lines.append(f"- duplicated: {', '.join(fault['run']['duplicated_tokens'])}")
        if fault["run"].get("unsearchable_tokens"):
            lines.append(f"- delivered but not found by SEARCH within {fault['run']['searchable_within_seconds']} s: "
                         f"{', '.join(fault['run']['unsearchable_tokens'])}")
        if fault["run"].get("searchable_after_seconds") is not None:
            lines.append(f"- found by SEARCH: the last of them {fault['run']['searchable_after_seconds']} s after the delivery wait ended "
                         "(searches start 5 s after it; a pass over every message takes most of that time)")
        lines.append("")
    if document.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in document["notes"]] + [""]
    return "\n".join(lines)


def membership_text(membership):
    text = (f"RabbitMQ nodes running: {', '.join(membership['rabbitmq_nodes'])}; mail queues: "
            + ", ".join(f"{q.replace('JamesMailQueue-workqueue-', '')} ({v})" for q, v in membership["mail_queues"].items())
            + f"; event bus queues mirrored on every node: {membership.get('event_bus_queues_mirrored', '–')}"
            + f"; Cassandra: {sum(1 for p in membership['cassandra_peers'].values() if p is not None)} nodes answering, "
            f"each with its peers; OpenSearch nodes: {', '.join(membership['opensearch_nodes'])}")
    return text + (f". PROBLEMS: {'; '.join(membership['problems'])}" if membership["problems"] else "")


def searchable_cell(run):
    if "searchable" not in run:
        return "–"
    cell = f"{run['searchable']} ({run['unsearchable']})"
    if run.get("found_twice_by_search"):
        cell += f", {run['found_twice_by_search']} found twice"
    return cell


def now_utc():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
