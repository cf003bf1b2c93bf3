#!/usr/bin/env python3
"""The memory of every running component of the local cluster (./mailcluster memory).

For each PID file in RUN_DIR: the process and all its descendants (rspamd's workers,
RabbitMQ's Erlang VM under its wrapper), their RSS and their PSS. RSS counts a page shared
by several processes once per process; PSS shares it out, so the PSS total is what the
cluster really holds in memory. Prints a table, or JSON with --json.
"""
import json
import os
import sys


def children_of():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError):
            continue
    return children


def tree(pid, children):
    pids = [pid]
    for child in children.get(pid, []):
        pids.extend(tree(child, children))
    return pids


def kilobytes(pid):
    """(RSS, PSS) in kB from smaps_rollup; (0, 0) if the process is gone."""
    rss = pss = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as rollup:
            for line in rollup:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def wrappers(run_dir, vm_pid_file):
    """The PID recorded for the wrapper of a RabbitMQ VM (rabbitmq2-vm.pid: rabbitmq2.pid), if any."""
    try:
        return [int(open(os.path.join(run_dir, vm_pid_file[:-len("-vm.pid")] + ".pid")).read().split()[0])]
    except (OSError, ValueError, IndexError):
        return []


def main():
    run_dir = sys.argv[1]
    as_json = "--json" in sys.argv[2:]
    children = children_of()
    rows = []
    for name in sorted(os.listdir(run_dir)):
        if not name.endswith(".pid"):
            continue
        try:
            pid = int(open(os.path.join(run_dir, name)).read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if not os.path.exists("/proc/%d" % pid):
            continue
        pids = tree(pid, children)
        if name.endswith("-vm.pid") and any(pid in tree(other, children) for other in wrappers(run_dir, name)):
            continue   # RabbitMQ's VM, counted in its live wrapper's row
        rss = pss = 0
        for each in pids:
            r, p = kilobytes(each)
            rss += r
            pss += p
        rows.append({"component": name[:-4], "pid": pid, "processes": len(pids), "rss_mb": round(rss / 1024), "pss_mb": round(pss / 1024)})
    total = {"rss_mb": sum(r["rss_mb"] for r in rows), "pss_mb": sum(r["pss_mb"] for r in rows)}
    if as_json:
        print(json.dumps({"components": rows, "total": total}, indent=2))
        return
    print("%-12s %-8s %-9s %8s %8s" % ("COMPONENT", "PID", "PROCESSES", "RSS MB", "PSS MB"))
    for row in rows:
        print("%-12s %-8d %-9d %8d %8d" % (row["component"], row["pid"], row["processes"], row["rss_mb"], row["pss_mb"]))
    print("%-12s %-8s %-9s %8d %8d" % ("total", "", "", total["rss_mb"], total["pss_mb"]))


if __name__ == "__main__":
    main()
