"""`./mailcluster bench --profile`: where the cluster's CPU goes during the run.

- Every JVM of the cluster (the nodes, Cassandra, OpenSearch) records a JFR CPU profile
  (`jcmd PID JFR.start settings=profile`: Java stacks sampled every 10 ms, about 1 % of overhead)
  for the whole cluster run, turned into a flame graph (HTML) and a table of the hottest frames
  by async-profiler's JFR converter (tools.profiler:jfr-converter, from Maven Central).
- Cassandra counts every statement per table (its `system_views` latency tables, read before and
  after the run): what one delivered message costs in reads, writes, scans and Paxos rounds.
"""
import collections
import os
import pwd
import re
import subprocess

from . import cluster

CONVERTER = "tools.profiler:jfr-converter:4.5"
RECORDING = "mailbench"


def _java_pids(components):
    """{component: pid} of those components whose process is a JVM."""
    jvms = {}
    for name, pid in components.items():
        try:
            if os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "java":
                jvms[name] = pid
        except OSError:
            continue
    return jvms


def _jcmd(pid, *args):
    """jcmd as the JVM's own user (the attach API refuses another user; OpenSearch runs as its own)."""
    owner = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    argv = ["jcmd", str(pid), *args]
    if owner != pwd.getpwuid(os.getuid()).pw_name:
        argv = ["runuser", "-u", owner, "--"] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def converter_jar():
    """The JFR converter's jar, fetched once into var/bench/tools with Maven."""
    tools = os.path.join(cluster.VAR, "bench", "tools")
    group, artifact, version = CONVERTER.split(":")
    jar = os.path.join(tools, f"{artifact}-{version}.jar")
    if not os.path.exists(jar):
        os.makedirs(tools, exist_ok=True)
        out = subprocess.run(["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={CONVERTER}",
                              f"-DoutputDirectory={tools}"], capture_output=True, text=True, timeout=600)
        if out.returncode != 0 or not os.path.exists(jar):
            raise RuntimeError(f"could not fetch {CONVERTER}: {(out.stdout + out.stderr)[-400:]}")
    return jar


class CassandraCounts:
    """Statements per table, from Cassandra's own counters (cumulative since it started)."""

    TABLES = {"coordinator_read_latency": "reads", "coordinator_write_latency": "writes",
              "coordinator_scan_latency": "scans", "local_write_latency": "local writes",
              "local_read_latency": "local reads"}

    @staticmethod
    def read():
        counts = collections.Counter()
        for table, kind in CassandraCounts.TABLES.items():
            out = subprocess.run(["bash", os.path.join(cluster.ROOT, "launcher", "services", "cassandra.sh"), "probe",
                                  f"SELECT keyspace_name, table_name, count FROM system_views.{table}"],
                                 capture_output=True, text=True, timeout=60)
            for line in out.stdout.splitlines():
                parts = line.split("\t")
                if len(parts) == 3 and parts[2].isdigit():
                    keyspace, name, count = parts
                    # the mail's own tables (coordinator counts: what the nodes asked) and Paxos's
                    if keyspace == "system" and name == "paxos" and kind.startswith("local"):
                        counts[(f"system.paxos", kind)] = int(count)
                    elif keyspace not in ("system", "system_schema", "system_auth", "system_distributed",
                                          "system_traces", "system_views", "system_virtual_schema") \
                            and not kind.startswith("local"):
                        counts[(name, kind)] = int(count)
        return counts


class Profile:
    def __init__(self, components, out_dir):
        self.jvms = _java_pids(components)
        self.out_dir = out_dir
        self.work = os.path.join(cluster.VAR, "bench", "profile")
        self.problems = []
        self.counts_before = None

    def start(self):
        os.makedirs(self.work, exist_ok=True)
        os.chmod(self.work, 0o777)   # JVMs of other users write their recordings here
        for name, pid in self.jvms.items():
            path = os.path.join(self.work, f"{name}.jfr")
            if os.path.exists(path):
                os.remove(path)
            out = _jcmd(pid, "JFR.start", f"name={RECORDING}", "settings=profile", f"filename={path}")
            if out.returncode != 0:
                self.problems.append(f"{name}: JFR.start failed: {(out.stdout + out.stderr).strip()[-200:]}")
        self.counts_before = CassandraCounts.read()

    def stop(self, delivered):
        """Ends the recordings; returns the summary for the report (files written to out_dir)."""
        counts = CassandraCounts.read()
        for name, pid in self.jvms.items():
            out = _jcmd(pid, "JFR.stop", f"name={RECORDING}")
            if out.returncode != 0:
                self.problems.append(f"{name}: JFR.stop failed: {(out.stdout + out.stderr).strip()[-200:]}")
        summary = {"flame_graphs": {}, "hottest_frames": {}, "problems": self.problems}
        try:
            jar = converter_jar()
        except RuntimeError as e:
            self.problems.append(str(e))
            jar = None
        os.makedirs(self.out_dir, exist_ok=True)
        for name in self.jvms:
            recording = os.path.join(self.work, f"{name}.jfr")
            if jar is None or not os.path.exists(recording):
                continue
            html = os.path.join(self.out_dir, f"flame-{name}.html")
            collapsed = os.path.join(self.work, f"{name}.collapsed")
            # the flame graph with short class names, the table's stacks with packages (to
            # tell the project's and James's frames from the libraries')
            for fmt, target, names in (("html", html, ["--simple"]), ("collapsed", collapsed, ["--dot"])):
                out = subprocess.run(["java", "-jar", jar, *names, "--norm", "-o", fmt,
                                      "--title", f"{name}: CPU samples during the bench", recording, target],
                                     capture_output=True, text=True, timeout=600)
                if out.returncode != 0:
                    self.problems.append(f"{name}: converting to {fmt} failed: {out.stderr.strip()[-200:]}")
            if os.path.exists(html):
                summary["flame_graphs"][name] = os.path.basename(html)
            if os.path.exists(collapsed):
                summary["hottest_frames"][name] = hottest(collapsed)
        summary["cassandra_per_message"] = per_message(self.counts_before, counts, delivered)
        return summary


# Frames worth naming in the table: where the project's, James's and the backends' own code
# spends the samples it is on the stack of (library frames such as Netty's are in the graphs).
OWN_CODE = re.compile(r"^(org\.mailcluster|org\.apache\.james|org\.apache\.cassandra\.(cql3|db|service|io)"
                      r"|org\.opensearch\.(index|action)|org\.apache\.lucene)\.")


def hottest(collapsed_path, top=15):
    """Over the samples of threads running Java code (JFR's native-method samples, threads
    waiting in epoll or accept, are left out): the frames the CPU was in (self), and the
    project's, James's and the backends' methods by the share of samples they are on the stack of."""
    own, inclusive, total_samples = collections.Counter(), collections.Counter(), 0
    for line in open(collapsed_path):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not count.isdigit():
            continue
        if not stack.endswith("]"):
            continue   # a native-method sample: the thread was waiting, not computing
        frames = [re.sub(r"_\[.\]$", "", f) for f in stack.split(";")]
        count = int(count)
        total_samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            if OWN_CODE.match(frame) and "$$Lambda" not in frame:
                inclusive[frame] += count
    share = lambda n: round(100 * n / total_samples, 1)
    return {"samples": total_samples,
            "self": [(frame, share(n)) for frame, n in own.most_common(top)],
            "on_stack": [(frame, share(n)) for frame, n in inclusive.most_common(top)]}


def per_message(before, after, delivered):
    """Statements per delivered message, per table and kind, largest first."""
    if not delivered:
        return []
    rows = []
    for key, value in after.items():
        delta = value - before.get(key, 0)
        if delta > 0:
            rows.append((key[0], key[1], delta, round(delta / delivered, 2)))
    return sorted(rows, key=lambda r: -r[2])
