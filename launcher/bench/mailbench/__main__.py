"""./mailcluster bench | chaos: see launcher/bench/README.md."""
import argparse
import json
import os
import re
import secrets
import sys
import threading
import time

from . import cluster, report
from .dnsmx import MxResolver
from .observe import ImapInbox, MaildirInboxes, SinkDumps
from .reference import ADDRESS as REFERENCE_ADDRESS, SMTP_PORT as REFERENCE_PORT, Reference
from .run import Target, run_load, say
from .workload import OutboundWorkload, Workload

OUT_DIR = os.path.join(cluster.ROOT, "docs", "benchmarks")


def command_line(verb):
    """How the run was asked for, as one would type it again (without --out)."""
    args, shown = sys.argv[1:], []
    while args:
        arg = args.pop(0)
        if arg == "--out":
            args = args[1:]
        elif arg != verb:
            shown.append(arg)
    return " ".join(["./mailcluster", verb] + shown)


def bench_users(domain, count):
    """The recipients: fixed names and passwords, kept in var/bench/users.json so that runs
    (even two at once) agree. Mailboxes are reused across runs: each run only looks at
    messages arriving after it starts, carrying its own run id."""
    return stored_passwords([f"bench-{i:02d}@{domain}" for i in range(1, count + 1)])


def stored_passwords(addresses):
    """{address: password} for the bench's users, each password made once and kept in
    var/bench/users.json (0600)."""
    path = os.path.join(cluster.VAR, "bench", "users.json")
    known = {}
    if os.path.exists(path):
        with open(path) as f:
            known = json.load(f)
    users = {address: known.get(address) or "bench-" + secrets.token_hex(8) for address in addresses}
    if any(a not in known for a in users):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump({**known, **users}, f, indent=1)
    return users


def create_users(webadmin, users):
    for address, password in users.items():
        webadmin.create_user(address, password)


def cluster_target(env, users):
    dns = cluster.host_port(env["MAILCLUSTER_DNS"], 53)
    imap_host, imap_port = cluster.host_port(env["MAILCLUSTER_IMAP"], 143)
    resolver = MxResolver(dns, env["MAILCLUSTER_DOMAIN"])
    inboxes = [ImapInbox(imap_host, imap_port, a, p) for a, p in users.items()]
    names = cluster.node_names()
    return Target("mailcluster", resolver, inboxes, lambda: cluster.component_pids(names))


def require_healthy():
    bad = cluster.unhealthy()
    if bad:
        sys.exit(f"mailcluster: the cluster is not healthy: {', '.join(bad)} (run ./mailcluster up, or wait for it)")


def cmd_bench(args):
    require_healthy()
    env = cluster.env()
    domain = env["MAILCLUSTER_DOMAIN"]
    started = time.time()
    hard_deadline = started + args.time_limit
    machine = report.machine_info()
    users = bench_users(domain, args.users)
    webadmin = cluster.WebAdmin(cluster.webadmin_urls(env["MAILCLUSTER_WEBADMIN"]), env["MAILCLUSTER_WEBADMIN_AUTH"])
    create_users(webadmin, users)
    repositories = cluster.ErrorRepositories(webadmin)
    run_id = "b" + time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(2)
    workload = Workload(run_id, list(users))
    runs = {}

    def phase_deadlines(share):
        """Sending stops early enough to leave a fifth of the phase for delivery."""
        end = min(hard_deadline, time.time() + share)
        return end - (end - time.time()) / 5, end

    send_until, drain_until = phase_deadlines(args.time_limit / 2 if args.reference else args.time_limit)
    target = cluster_target(env, users)
    profiler = None
    if args.profile:
        from .profile import Profile
        profiler = Profile(target.components(), args.out)
        profiler.start()
    runs["mailcluster"] = run_load(target, workload, args.messages, args.concurrency,
                                   send_until, drain_until, poll_interval=args.poll_interval,
                                   per_connection=args.per_connection, error_repositories=repositories,
                                   rate=args.rate)
    profile = profiler.stop(runs["mailcluster"]["delivered"]) if profiler else None
    if args.reference:
        ref = Reference(cluster.VAR, domain, users)
        ref.prepare()
        try:
            ref.start()
            resolver = MxResolver(None, domain, static=[(10, "reference", [REFERENCE_ADDRESS])], port=REFERENCE_PORT)
            target = Target("reference", resolver, [MaildirInboxes(ref.maildir_root)], ref.pids)
            send_until, drain_until = phase_deadlines(hard_deadline - time.time())
            runs["reference"] = run_load(target, Workload(run_id + "r", list(users)), args.messages, args.concurrency,
                                         send_until, drain_until, poll_interval=args.poll_interval,
                                         per_connection=args.per_connection, rate=args.rate)
        finally:
            ref.stop()

    document = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "command": command_line("bench"),
        "machine": machine,
        "settings": {"messages": args.messages, "concurrency": args.concurrency, "users": args.users,
                     "messages_per_connection": args.per_connection, "time_limit_seconds": args.time_limit,
                     "poll_interval": args.poll_interval, "rate": args.rate,
                     "cluster_nodes": [n for n in cluster.node_names() if re.fullmatch(r"(mx|submission|mailbox)\d+", n)]},
        "runs": runs,
        "durability": {"mailcluster": cluster.durability(), "reference": Reference.DURABILITY},
        **({"profile": profile} if profile else {}),
        "notes": [
            "One machine runs everything: the load generator, the cluster's nodes and backends (idle ones too, "
            "e.g. OpenSearch and the submission node, which stay up during the reference run) and the reference.",
            "The reference is not in the cluster's DNS zone: its senders use its one address as the only MX.",
            "The cluster's delivery is counted over IMAP (STARTTLS) with UID FETCH of new messages' Message-ID; "
            "the reference's by reading new files in its Maildirs.",
        ],
    }
    if "reference" in runs:
        document["ratios"] = report.ratios(runs["mailcluster"], runs["reference"])
    os.makedirs(args.out, exist_ok=True)
    # a paced run answers another question (latency at a sustainable load): its own report
    base, prefix = ("paced", "paced-") if args.rate else ("latest", "")
    chart_problem = report.charts(document, args.out, prefix)
    if chart_problem:
        document["notes"].append(chart_problem)
    report.write_json(os.path.join(args.out, base + ".json"),
                      {**document, "runs": {n: {k: v for k, v in r.items() if k != "series"} for n, r in runs.items()}})
    with open(os.path.join(args.out, base + ".md"), "w") as f:
        f.write(report.bench_markdown(document, prefix))
    print(report.bench_summary(document))
    print(f"reports: {args.out}/{base}.json, {base}.md, {prefix}throughput.png, {prefix}latency.png")
    return 0 if all(r["lost"] == 0 for r in runs.values()) else 1


# -- fault runs ----------------------------------------------------------------------------

def sh(*argv):
    """Runs one of the launcher's own verbs from the checkout; returns (exit code, output)."""
    import subprocess
    out = subprocess.run(list(argv), cwd=cluster.ROOT, capture_output=True, text=True, timeout=600)
    return out.returncode, (out.stdout + out.stderr).strip()


# name: (description, steps, the components the fault stops and must leave running again)
FAULTS = {
    "mx-kill": ("kill -9 of mx1 under load; it stays down 20 s (senders move to mx2), then is restarted.",
                [("kill -9 mx1", ("bash", "launcher/nodes.sh", "kill", "mx1")),
                 ("wait", 20),
                 ("restart mx1", ("bash", "launcher/nodes.sh", "start-one", "mx1"))], ["mx1"]),
    "mailbox-kill": ("kill -9 of mailbox1 (the only mailbox node) under load; it stays down 10 s, then is restarted. "
                     "MX nodes keep accepting: mail waits in the delivery queue.",
                     [("kill -9 mailbox1", ("bash", "launcher/nodes.sh", "kill", "mailbox1")),
                      ("wait", 10),
                      ("restart mailbox1", ("bash", "launcher/nodes.sh", "start-one", "mailbox1"))], ["mailbox1"]),
    "submission-kill": ("kill -9 of submission1 under outbound load: users send through the load balancer "
                        "(smtp-lb: STARTTLS, AUTH) to the outside world (Postfix's smtp-sink as its MX); "
                        "submission1 stays down 20 s (haproxy sends new connections to submission2), then is "
                        "restarted. Every message that got 250 must reach the outside MX exactly once.",
                        [("kill -9 submission1", ("bash", "launcher/nodes.sh", "kill", "submission1")),
                         ("wait", 20),
                         ("restart submission1", ("bash", "launcher/nodes.sh", "start-one", "submission1"))],
                        ["submission1"]),
    "rabbitmq-restart": ("RabbitMQ stopped (TERM, as the launcher does) and started again under load.",
                         [("stop rabbitmq", ("bash", "launcher/services/rabbitmq.sh", "stop")),
                          ("start rabbitmq", ("bash", "launcher/services/rabbitmq.sh", "start"))], ["rabbitmq"]),
    "cassandra-restart": ("Cassandra stopped (TERM) and started again under load.",
                          [("stop cassandra", ("bash", "launcher/services/cassandra.sh", "stop")),
                           ("start cassandra", ("bash", "launcher/services/cassandra.sh", "start"))], ["cassandra"]),
}


def rabbitmq_leader(queue):
    """The RabbitMQ instance (rabbitmq, rabbitmq2, ...) leading a quorum queue, asked of the first
    node whose management API answers."""
    leader = cluster.rabbitmq_management("GET", "/api/queues/%2F/" + queue)["leader"]   # mailcluster2@localhost
    return "rabbitmq" + leader.split("@")[0][len("mailcluster"):]


def opensearch_not_manager():
    """The OpenSearch instance that is not the elected cluster manager: with two nodes, only the
    manager holds the vote, so the other is the one whose loss the cluster survives."""
    manager = cluster.opensearch("/_cat/cluster_manager?format=json")[0]["node"]   # opensearch-2
    index = 2 if manager == "opensearch-1" else 1
    return "opensearch" if index == 1 else f"opensearch{index}"


def kill_and_restart(name, pause):
    """kill -9 of one backend instance (a function of nothing: decided when the fault starts),
    down `pause` seconds, then started again."""
    target = {}

    def kill():
        target["name"] = name() if callable(name) else name
        return ("./mailcluster", "kill", target["name"])

    return [(lambda: f"kill -9 {target.get('name', '?')}", kill), ("wait", pause),
            (lambda: f"restart {target['name']}", lambda: ("./mailcluster", "start", target["name"]))]


RABBITMQ_NODES = ["rabbitmq", "rabbitmq2", "rabbitmq3"]
CASSANDRA_NODES = ["cassandra", "cassandra2", "cassandra3"]
OPENSEARCH_NODES = ["opensearch", "opensearch2"]
# On the replicated backends (./mailcluster up --ha): the loss of one backend machine.
HA_FAULTS = {
    "rabbitmq-leader-kill": ("kill -9 of the RabbitMQ node leading the MX spool's quorum queue (the first hop of "
                             "every accepted message), under load; it stays down 30 s, then is restarted and rejoins.",
                             kill_and_restart(lambda: rabbitmq_leader("JamesMailQueue-workqueue-mx-spool"), 30),
                             RABBITMQ_NODES),
    "cassandra-kill": ("kill -9 of one Cassandra node (cassandra2) of three under load; writes and reads go on at "
                       "QUORUM on the other two; it stays down 30 s, then is restarted (hints replay what it missed).",
                       kill_and_restart("cassandra2", 30), CASSANDRA_NODES),
    "opensearch-kill": ("kill -9 of the OpenSearch node that is not the elected cluster manager, under load; the "
                        "index's replica on the other node takes over; it stays down 30 s, then is restarted.",
                        kill_and_restart(opensearch_not_manager, 30), OPENSEARCH_NODES),
}
FAULTS.update(HA_FAULTS)

# Faults whose load is users' outbound mail (through smtp-lb to the remote MX), not inbound.
OUTBOUND_FAULTS = {"submission-kill"}


class OutsideMx:
    """The outside world's MX for outbound runs: Postfix's smtp-sink on the remote test
    domain's MX address, writing each message it receives to a file; started and stopped
    (by its PID) around the run."""

    def __init__(self, address):
        import subprocess
        import tempfile
        self.dumps = tempfile.mkdtemp(prefix="chaos-outside-mx-")
        os.chmod(self.dumps, 0o777)
        self.process = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-d", self.dumps + "/%M.",
                                         f"{address}:25", "256"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection((address, 25), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    self.close()
                    raise RuntimeError(f"smtp-sink did not listen on {address}:25 (is it taken?)")
                time.sleep(0.1)

    def close(self):
        import shutil
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.dumps, ignore_errors=True)


def outbound_target(env, outside):
    host, port = cluster.host_port(env["MAILCLUSTER_SMTP_LB"], 587)
    resolver = MxResolver(None, "smtp-lb", port=port, static=[(0, "smtp-lb", [host])])
    names = cluster.node_names()
    return Target("mailcluster-outbound", resolver, [SinkDumps(outside.dumps)], lambda: cluster.component_pids(names))


def outbound_sender(domain, webadmin):
    """The user whose mail the outbound runs send, with a sending limit high enough for a run
    (the default is 500 an hour)."""
    address = f"bench-out@{domain}"
    password = stored_passwords([address])[address]
    webadmin.create_user(address, password)
    status, body = webadmin.call("PUT", f"/limits/users/{address}", '{"messagesPerHour":1000000}')
    if status != 204:
        raise RuntimeError(f"webadmin PUT /limits/users/{address}: {status} {body}")
    return address, password


class FaultInjector:
    """Runs a fault's steps in a thread once `threshold` messages are accepted."""

    def __init__(self, steps, threshold):
        self.steps, self.threshold = steps, threshold
        self.events, self.thread = [], None
        self.started_at = self.finished_at = None

    def __call__(self, accepted):
        if self.thread is None and accepted is not None and accepted >= self.threshold:
            self.thread = threading.Thread(target=self._run, name="fault", daemon=True)
            self.started_at = time.time()
            self.thread.start()

    def _event(self, text):
        self.events.append(f"{time.strftime('%H:%M:%S')} {text}")
        say(text)

    def _run(self):
        try:
            for label, action in self.steps:
                if label == "wait":
                    time.sleep(action)
                    continue
                # a step may be decided when it runs (which backend node leads now)
                command = action() if callable(action) else action
                label = label() if callable(label) else label
                code, output = sh(*command)
                self._event(f"{label}: exit {code}" + (f" ({output.splitlines()[-1]})" if output else ""))
        finally:
            self.finished_at = time.time()

    def finish(self, inject_if_untriggered):
        """Waits for the fault to run to its end, recovery included."""
        if self.thread is None:
            if not inject_if_untriggered:
                return
            self._event("the fault was not triggered during the load: injecting it now")
            self.__call__(self.threshold)
        self.thread.join()


def restore_health(own, events, wait=180):
    """After a fault: waits (bounded) for every component to be healthy again. What the fault
    itself stopped (`own`) is started again if its process is gone. A node still unhealthy
    after the wait (say, one that did not reconnect to a restarted backend) is restarted with
    `nodes.sh stop-one`/`start-one`, and the report says so: the run leaves the cluster
    running, and the need for a restart is itself a finding. Backends other than the fault's
    are only reported (the cluster may be shared). Returns what was unhealthy after the wait."""
    deadline = time.time() + wait
    restarted = set()
    while True:
        bad = cluster.unhealthy()
        if not bad:
            return []
        for name in (n for n in bad if n in own and n not in restarted and cluster.component_pids([n]) == {}):
            # its process is gone: start it (a live but unhealthy one is given the time to recover)
            script = (("./mailcluster", "start", name) if re.fullmatch(r"(rabbitmq|cassandra|opensearch)\d*", name)
                      else ("bash", "launcher/nodes.sh", "start-one", name))
            code, _ = sh(*script)
            restarted.add(name)
            events.append(f"{time.strftime('%H:%M:%S')} {name} was down after the fault: started it (exit {code})")
        if time.time() > deadline:
            break
        time.sleep(5)
    events.append(f"{time.strftime('%H:%M:%S')} still not healthy after {wait}s: {', '.join(bad)}")
    for name in bad:
        if re.fullmatch(r"(mx|submission|mailbox)\d+", name):
            code_stop, _ = sh("bash", "launcher/nodes.sh", "stop-one", name)
            code_start, _ = sh("bash", "launcher/nodes.sh", "start-one", name)
            events.append(f"{time.strftime('%H:%M:%S')} restarted {name} (stop-one exit {code_stop}, "
                          f"start-one exit {code_start})")
    still = cluster.unhealthy()
    if still:
        events.append(f"{time.strftime('%H:%M:%S')} still not healthy: {', '.join(still)}")
    return bad


def wait_healthy(timeout):
    """Before a fault: the cluster must be healthy (it is shared: someone may be restarting it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        bad = cluster.unhealthy()
        if not bad:
            return []
        time.sleep(10)
    return cluster.unhealthy()


def cmd_chaos(args):
    if wait_healthy(300):
        require_healthy()
    env = cluster.env()
    ha = env.get("MAILCLUSTER_HA") == "1"
    # by default the faults of the running stack: a backend node's loss on the replicated one,
    # the nodes' losses and the backends' restarts on the single-node one
    names = [n.strip() for n in (args.faults or ",".join(n for n in FAULTS if (n in HA_FAULTS) == ha)).split(",")
             if n.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        sys.exit(f"mailcluster chaos: unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    if not ha and set(names) & set(HA_FAULTS):
        sys.exit(f"mailcluster chaos: {', '.join(set(names) & set(HA_FAULTS))} need the replicated backends: "
                 "./mailcluster down; ./mailcluster up --ha")
    report_name = "chaos-ha" if ha else "chaos"
    users = bench_users(env["MAILCLUSTER_DOMAIN"], args.users)
    webadmin = cluster.WebAdmin(cluster.webadmin_urls(env["MAILCLUSTER_WEBADMIN"]), env["MAILCLUSTER_WEBADMIN_AUTH"])
    create_users(webadmin, users)
    repositories = cluster.ErrorRepositories(webadmin)
    document = {
        "started": report.now_utc(),
        "command": command_line("chaos"),
        "machine": report.machine_info(),
        "settings": {"messages": args.messages, "concurrency": args.concurrency, "users": args.users,
                     "drain_seconds": args.drain, "stall_seconds": args.stall,
                     "time_limit_seconds_per_fault": args.time_limit},
        "faults": [],
        "notes": ["'delivered without 250': a copy is in the mailbox although the sender never got a 250 for it "
                  "(the connection broke after the data was sent, and the sender then gave up or its retry was "
                  "refused). 'resent by the sender': duplicates of messages whose DATA was left unanswered once, "
                  "so the sender sent them again, as RFC 5321 asks; a real sending MTA causes those too.",
                  "'lost (in an error repository)': accepted, not in the mailbox, and found in one of the "
                  "cluster's error repositories (webadmin /mailRepositories), from where an operator can "
                  "reprocess it; for the recipient it is missing all the same."],
    }
    if ha:
        # the replicated stack really is replicated before anything is killed
        document["membership_before"] = cluster.ha_membership()
        if document["membership_before"]["problems"]:
            sys.exit("mailcluster chaos: the replicated backends are not complete: "
                     + "; ".join(document["membership_before"]["problems"]))
    for name in names:
        description, steps, own = FAULTS[name]
        not_ready = wait_healthy(300)
        if not_ready:
            say(f"fault {name}: skipped, not healthy before it: {', '.join(not_ready)}")
            document["faults"].append({"name": name, "description": description, "events": [], "run": None,
                                       "harness_failure": "skipped: not healthy before the fault: " + ", ".join(not_ready),
                                       "recovery_seconds": None, "healthy_after": False, "unhealthy_after": not_ready})
            continue
        run_id = "c" + time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(2)
        injector = FaultInjector(steps, max(1, args.messages // 3))
        deadline = time.time() + args.time_limit
        say(f"fault {name}: {description}")

        def drain_deadline():
            # the bounded drain wait counts from the end of the recovery; the hard deadline caps both
            if injector.finished_at is None:
                return deadline
            return min(deadline, injector.finished_at + args.drain)

        run, failure, outside = None, None, None
        try:
            if name in OUTBOUND_FAULTS:
                outside = OutsideMx(cluster.host_port(env["MAILCLUSTER_REMOTE_MX"], 25)[0])
                login = outbound_sender(env["MAILCLUSTER_DOMAIN"], webadmin)
                target = outbound_target(env, outside)
                workload = OutboundWorkload(run_id, login[0], env["MAILCLUSTER_REMOTE_DOMAIN"])
                searchable_within = None   # the messages leave the cluster: nothing to search
            else:
                login, target, workload = None, cluster_target(env, users), Workload(run_id, list(users))
                searchable_within = args.searchable_within
            run = run_load(target, workload, args.messages,
                           args.concurrency, deadline - args.drain, drain_deadline, settle_seconds=5.0,
                           during_load=injector, per_connection=args.per_connection,
                           error_repositories=repositories, stall_seconds=args.stall,
                           recovering=lambda: injector.thread is not None and injector.finished_at is None,
                           searchable_within=searchable_within, login=login)
        except Exception as e:   # the harness failed, not (necessarily) the cluster: say so, go on
            failure = f"{type(e).__name__}: {e}"
            say(f"fault {name}: the run failed: {failure}")
        finally:
            if outside is not None:
                outside.close()
            # whatever happened, the fault's recovery runs to its end and the cluster is left healthy
            injector.finish(inject_if_untriggered=run is not None)
            unhealthy_after = restore_health(own if injector.thread is not None else [], injector.events)
        fault = {"name": name, "description": description, "events": injector.events,
                 "run": {k: v for k, v in run.items() if k != "series"} if run else None,
                 "harness_failure": failure,
                 "recovery_seconds": round(injector.finished_at - injector.started_at, 1) if injector.started_at else None,
                 "healthy_after": not unhealthy_after, "unhealthy_after": unhealthy_after}
        if ha:
            # the node killed is back in its cluster (RabbitMQ, Cassandra's ring, OpenSearch's)
            fault["membership_after"] = cluster.ha_membership()
            fault["healthy_after"] = fault["healthy_after"] and not fault["membership_after"]["problems"]
        document["faults"].append(fault)
        # written after every fault, so that an interrupted series still leaves its figures
        report.write_json(os.path.join(args.out, report_name + ".json"), document)
        with open(os.path.join(args.out, report_name + ".md"), "w") as f:
            f.write(report.chaos_markdown(document))
        if run:
            say(f"fault {name}: accepted {run['accepted']}, delivered {run['delivered']}, lost {run['lost']}, "
                f"duplicated {run['duplicated']}, temporary failures {run['temporary_failures']}")
        if set(unhealthy_after) & set(own):
            say(f"stopping the fault runs: {name} left {', '.join(unhealthy_after)} unhealthy")
            break

    for f in document["faults"]:
        r = f["run"]
        if r is None:
            print(f"{f['name']:18s} harness failure: {f['harness_failure']}")
            continue
        print(f"{f['name']:18s} accepted {r['accepted']}, delivered {r['delivered']}, lost {r['lost']} "
              f"(in error repositories: {r.get('lost_in_error_repositories')}), duplicated {r['duplicated']}, "
              f"temporary failures {r['temporary_failures']} {r['temporary_failures_by_kind']}")
    print(f"reports: {args.out}/{report_name}.json, {report_name}.md")
    # a run that had nothing accepted proved nothing: it fails too
    ok = all(f["run"] and f["run"]["accepted"] > 0 and f["run"]["lost"] == 0 and f["healthy_after"] for f in document["faults"])
    return 0 if ok else 1


def cmd_bench_outbound(args):
    from . import outbound
    require_healthy()
    env = cluster.env()
    webadmin = cluster.WebAdmin(cluster.webadmin_urls(env["MAILCLUSTER_WEBADMIN"]), env["MAILCLUSTER_WEBADMIN_AUTH"])
    login = outbound_sender(env["MAILCLUSTER_DOMAIN"], webadmin)
    outside = OutsideMx(cluster.host_port(env["MAILCLUSTER_REMOTE_MX"], 25)[0])
    run_id = "o" + time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(2)
    try:
        document = outbound.run(args, env, webadmin, outside, login, outbound_target(env, outside),
                                lambda part: OutboundWorkload(run_id + part, login[0], env["MAILCLUSTER_REMOTE_DOMAIN"]),
                                run_load)
    finally:
        outside.close()
    os.makedirs(args.out, exist_ok=True)
    report.write_json(os.path.join(args.out, "outbound.json"), document)
    with open(os.path.join(args.out, "outbound.md"), "w") as f:
        f.write(outbound.markdown(document))
    print(f"reports: {args.out}/outbound.json, outbound.md")
    return 0 if all(r["accepted"] > 0 and r["lost"] == 0 for r in document["throughput"].values()) else 1


def main(argv):
    parser = argparse.ArgumentParser(prog="mailcluster")
    verbs = parser.add_subparsers(dest="verb", required=True)
    bench = verbs.add_parser("bench", help="throughput and latency, ours and the reference's")
    bench.add_argument("--messages", type=int, default=20000)
    bench.add_argument("--concurrency", type=int, default=8)
    bench.add_argument("--no-reference", dest="reference", action="store_false")
    bench.add_argument("--time-limit", type=int, default=7200, help="hard deadline of the whole run, seconds")
    bench.add_argument("--profile", action="store_true",
                       help="JFR CPU profiles of the cluster's JVMs (flame graphs) and Cassandra's statements per message")
    bench.add_argument("--rate", type=float, default=None,
                       help="paced mode: new messages per second on each side (for latency at a sustainable "
                            "load, e.g. half the delivered rate of a full run); reports in paced.*")
    chaos = verbs.add_parser("chaos", help="fault runs under load, with the accounting of every message")
    chaos.add_argument("--messages", type=int, default=1000, help="messages per fault")
    chaos.add_argument("--concurrency", type=int, default=4)
    chaos.add_argument("--faults", default=None, help="comma-separated, among: " + ", ".join(FAULTS)
                       + " (default: those of the running stack; the last three need ./mailcluster up --ha)")
    chaos.add_argument("--drain", type=int, default=300, help="bounded wait for delivery after recovery, seconds")
    chaos.add_argument("--searchable-within", type=int, default=300,
                       help="how long after delivery every delivered message must be found by IMAP SEARCH, seconds")
    chaos.add_argument("--time-limit", type=int, default=900, help="hard deadline of each fault run, seconds")
    chaos.add_argument("--stall", type=int, default=120,
                       help="after the recovery, stop waiting when nothing new was delivered for this long, s")
    outbound = verbs.add_parser("bench-outbound", help="the outbound tier through its load balancer")
    outbound.add_argument("--messages", type=int, default=600, help="messages per throughput run")
    outbound.add_argument("--concurrency", type=int, default=8)
    outbound.add_argument("--out", default=OUT_DIR)
    scanning = verbs.add_parser("bench-scanners", help="time per message of rspamd and clamd")
    scanning.add_argument("--messages", type=int, default=500)
    scanning.add_argument("--out", default=OUT_DIR)
    scrape = verbs.add_parser("bench-scrape", help="CPU, bytes and time of one /metrics scrape per node")
    scrape.add_argument("--scrapes", type=int, default=200)
    scrape.add_argument("--out", default=OUT_DIR)
    for p in (bench, chaos):
        p.add_argument("--users", type=int, default=10, help="recipients the messages are spread over")
        p.add_argument("--per-connection", type=int, default=10, help="messages a sender delivers per connection")
        p.add_argument("--poll-interval", type=float, default=0.5, help="how often the mailboxes are looked at, s")
        p.add_argument("--out", default=OUT_DIR)
    args = parser.parse_args(argv)
    if args.verb == "bench-outbound":
        return cmd_bench_outbound(args)
    if args.verb == "bench-scrape":
        from . import scrape
        require_healthy()
        return scrape.main(args)
    if args.verb == "bench-scanners":
        from . import scanners
        require_healthy()
        return scanners.main(args)
    for name in ("messages", "concurrency", "users", "per_connection"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if getattr(args, "rate", None) is not None and args.rate <= 0:
        parser.error("--rate must be more than 0")
    return cmd_bench(args) if args.verb == "bench" else cmd_chaos(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
