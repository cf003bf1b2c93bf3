"""CPU time and resident memory of the processes under test, read from /proc.

A component is a root PID (from the launcher's PID files) and its descendants:
Postfix and Dovecot run many short-lived child processes, whose CPU time moves into
their parent's cutime/cstime when reaped, so a component's CPU time is the sum of
utime+stime+cutime+cstime over its live process tree.
"""
import os
import threading
import time

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid):
    """(ppid, cpu seconds incl. reaped children, rss bytes) or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()   # the command name may contain spaces
    ppid = int(fields[1])
    cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
    rss = int(fields[21]) * PAGE
    return ppid, cpu, rss


def _all_processes():
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat:
                table[int(entry)] = stat
    return table


def tree_usage(root, table=None, exclude=()):
    """(cpu seconds, rss bytes) of root and every descendant, or None if root is gone.
    Descendants listed in `exclude` (the roots of other components) are left out with
    their own descendants: the harness, say, is the parent of the reference's daemons."""
    table = table if table is not None else _all_processes()
    if root not in table:
        return None
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    cpu = rss = 0
    pending = [root]
    while pending:
        pid = pending.pop()
        _, c, r = table[pid]
        cpu += c
        rss += r
        pending.extend(child for child in children.get(pid, ()) if child not in exclude)
    return cpu, rss


class Sampler(threading.Thread):
    """Samples each component every `interval` s: CPU time used since start, peak RSS.

    `components()` is called at each sample and returns {name: pid}, so a node that
    was killed and restarted (new PID) keeps being measured; CPU time of a process
    that died is kept as it was last seen.
    """

    def __init__(self, components, interval=1.0):
        super().__init__(name="sampler", daemon=True)
        self.components, self.interval = components, interval
        self.first = {}       # (name, pid) -> cpu at the first sample
        self.last = {}        # (name, pid) -> cpu at the last sample
        self.peak_rss = {}
        self.last_rss = {}
        self.timeline = []    # (time, {name: cpu seconds so far})
        self._stop_event = threading.Event()
        self.started_at = None
        self.stopped_at = None

    def sample(self):
        table = _all_processes()
        now = time.time()
        components = self.components()
        roots = set(components.values())
        for name, pid in components.items():
            usage = tree_usage(pid, table, exclude=roots - {pid}) if pid else None
            if usage is None:
                continue
            cpu, rss = usage
            self.first.setdefault((name, pid), cpu)
            self.last[(name, pid)] = cpu
            self.last_rss[name] = rss
            self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
        self.timeline.append((now, self.cpu_by_component()))

    def cpu_by_component(self):
        totals = {}
        for (name, pid), cpu in self.last.items():
            totals[name] = totals.get(name, 0.0) + cpu - self.first[(name, pid)]
        return totals

    def run(self):
        self.started_at = time.time()
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join(10)
        self.sample()
        self.stopped_at = time.time()

    def summary(self):
        elapsed = max((self.stopped_at or time.time()) - self.started_at, 1e-9)
        cpu = self.cpu_by_component()
        names = sorted(set(cpu) | set(self.peak_rss))
        return {name: {"cpu_seconds": round(cpu.get(name, 0.0), 2),
                       "cpu_percent_of_one_core": round(100 * cpu.get(name, 0.0) / elapsed, 1),
                       "rss_peak_mb": round(self.peak_rss.get(name, 0) / 2**20, 1),
                       "rss_end_mb": round(self.last_rss.get(name, 0) / 2**20, 1)}
                for name in names}


def machine_cpu_seconds():
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS
