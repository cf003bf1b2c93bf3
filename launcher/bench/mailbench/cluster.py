"""The local cluster as the harness sees it: endpoints (`./mailcluster env`), health
(`./mailcluster status`), the PIDs the launcher recorded, users made through webadmin.
"""
import os
import re
import shlex
import subprocess
import urllib.error
import urllib.request

ROOT = os.environ.get("MC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
VAR = os.path.join(ROOT, "var")
RUN = os.path.join(VAR, "run")


def env():
    """The MAILCLUSTER_* variables, as `./mailcluster env` prints them."""
    out = subprocess.run([os.path.join(ROOT, "mailcluster"), "env"], check=True, capture_output=True, text=True).stdout
    values = {}
    for line in out.splitlines():
        match = re.match(r"export (\w+)=(.*)$", line)
        if match:
            values[match.group(1)] = shlex.split(match.group(2))[0] if match.group(2) else ""
    return values


def host_port(text, default_port):
    host, _, port = text.rpartition(":")
    return (host, int(port)) if host else (text, default_port)


def status():
    """{component: (pid or None, healthy?)} from `./mailcluster status`."""
    out = subprocess.run([os.path.join(ROOT, "mailcluster"), "status"], capture_output=True, text=True, timeout=120).stdout
    components = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 4:
            components[parts[0]] = (None if parts[2] == "-" else int(parts[2]), parts[3] == "healthy")
    return components


def durability():
    """What a `250` of the cluster survives, from the running backends' own configuration."""
    settings = {}
    ha = env().get("MAILCLUSTER_HA") == "1"
    try:
        with open(os.path.join(VAR, *(("ha",) if ha else ()), "cassandra", "conf", "cassandra.yaml")) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.startswith("commitlog_sync"):
                    settings[key.strip()] = value.strip()
    except OSError:
        return "unknown (no var/cassandra/conf/cassandra.yaml)"
    mode = settings.get("commitlog_sync", "?")
    window = {"periodic": settings.get("commitlog_sync_period"),
              "group": settings.get("commitlog_sync_group_window")}.get(mode)
    synced = mode in ("batch", "group")
    return (f"the message is in Cassandra (blob store, " + ("three nodes, written at QUORUM" if ha else "one node")
            + f") with `commitlog_sync: {mode}`"
            + (f" ({window})" if window else "")
            + (": the commit log is fsynced before a write is acknowledged, so before the `250`; "
               if synced else ": a write is acknowledged before its commit log is fsynced, so a power cut can "
               "lose up to that period of accepted mail; ")
            + "its reference in a durable RabbitMQ queue, persistent, acknowledged by a publisher confirm "
              "(RabbitMQ confirms a persistent message once it is on disk).")


def _get_json(url, headers=None):
    import json
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def rabbitmq_management(method, path):
    """A GET of RabbitMQ's management API, from the first broker node that answers."""
    import base64
    values = env()
    port = host_port(values["MAILCLUSTER_RABBITMQ_MANAGEMENT"].split("//")[1], 15672)[1]
    auth = {"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()}
    last = None
    for node in values["MAILCLUSTER_RABBITMQ_NODES"].split(","):
        try:
            return _get_json(f"http://{host_port(node, 5672)[0]}:{port}{path}", auth)
        except OSError as e:
            last = e
    raise RuntimeError(f"no RabbitMQ management API answers: {last}")


def opensearch(path):
    """A GET of OpenSearch's REST API, from the first node that answers."""
    last = None
    for node in env()["MAILCLUSTER_OPENSEARCH_NODES"].split(","):
        try:
            return _get_json(f"http://{node}{path}")
        except OSError as e:
            last = e
    raise RuntimeError(f"no OpenSearch node answers: {last}")


def ha_membership():
    """What each replicated backend says of its own membership (./mailcluster up --ha), and the
    problems found: every RabbitMQ node running in one cluster, every mail queue a quorum queue
    with a member on each node, every Cassandra node up in one ring, every OpenSearch node in the
    cluster and the index with its replica assigned."""
    values = env()
    expected = {name: len(values[f"MAILCLUSTER_{name.upper()}_NODES"].split(","))
                for name in ("rabbitmq", "cassandra", "opensearch")}
    problems = []
    nodes = rabbitmq_management("GET", "/api/nodes?columns=name,running")
    running = sorted(n["name"] for n in nodes if n.get("running"))
    if len(running) != expected["rabbitmq"]:
        problems.append(f"RabbitMQ: {len(running)} of {expected['rabbitmq']} nodes running ({', '.join(running)})")
    queues = {q["name"]: (q.get("type"), len(q.get("members") or []))
              for q in rabbitmq_management("GET", "/api/queues?columns=name,type,members")
              if q["name"].startswith("JamesMailQueue-workqueue-")}
    for name, (kind, members) in sorted(queues.items()):
        if kind != "quorum" or members != expected["rabbitmq"]:
            problems.append(f"RabbitMQ: {name} is a {kind} queue with {members} members")
    if not queues:
        problems.append("RabbitMQ: no mail queue declared")
    # the event bus's queues, which James declares classic: mirrored on every node (docs/ha.md)
    events = rabbitmq_management("GET", "/api/queues?columns=name,type,policy,slave_nodes")
    unmirrored = [q["name"] for q in events if q["name"].startswith(("mailboxEvent-", "jmapEvent-"))
                  and len(q.get("slave_nodes") or []) != expected["rabbitmq"] - 1]
    if unmirrored:
        problems.append(f"RabbitMQ: event bus queues not mirrored on every node: {', '.join(sorted(unmirrored))}")
    peers = {}
    for node in values["MAILCLUSTER_CASSANDRA_NODES"].split(","):
        host, port = host_port(node, 9042)
        out = subprocess.run(["python3", os.path.join(ROOT, "launcher", "services", "cassandra", "cql_probe.py"),
                              host, str(port), "SELECT peer FROM system.peers"], capture_output=True, text=True, timeout=60)
        peers[node] = sorted(out.stdout.split()) if out.returncode == 0 else None
        if out.returncode != 0:
            problems.append(f"Cassandra: {node} does not answer ({out.stderr.strip()[-160:]})")
        elif len(peers[node]) != expected["cassandra"] - 1:
            problems.append(f"Cassandra: {node} knows {len(peers[node])} peers, not {expected['cassandra'] - 1}")
    search_nodes = sorted(n["name"] for n in opensearch("/_cat/nodes?format=json&h=name"))
    if len(search_nodes) != expected["opensearch"]:
        problems.append(f"OpenSearch: {len(search_nodes)} of {expected['opensearch']} nodes ({', '.join(search_nodes)})")
    unassigned = [f"{s['index']}/{s['shard']}{s['prirep']}" for s in opensearch("/_cat/shards?format=json")
                  if s["state"] != "STARTED" and not s["index"].startswith(".")]
    if unassigned:
        problems.append(f"OpenSearch: shards not started: {', '.join(unassigned)}")
    return {"rabbitmq_nodes": running, "mail_queues": {k: f"{t}, {m} members" for k, (t, m) in queues.items()},
            "event_bus_queues_mirrored": sum(1 for q in events if q["name"].startswith(("mailboxEvent-", "jmapEvent-")))
            - len(unmirrored),
            "cassandra_peers": peers, "opensearch_nodes": search_nodes, "problems": problems}


def unhealthy():
    return sorted(name for name, (_, healthy) in status().items() if not healthy)


def _read_pid(path):
    try:
        with open(path) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def component_pids(names):
    """{name: live pid} for the cluster's components, from the launcher's PID files."""
    pids = {}
    for name in names:
        if re.fullmatch(r"rabbitmq\d*", name):
            # the launcher's rabbitmq.pid is the wrapper script; the broker VM records its own
            pid = _read_pid(os.path.join(RUN, f"{name}-vm.pid"))
        else:
            pid = _read_pid(os.path.join(RUN, f"{name}.pid"))
        if pid:
            pids[name] = pid
    return pids


def node_names():
    """Every node and backend the launcher recorded a PID file for (node names first)."""
    names = [f[:-4] for f in sorted(os.listdir(RUN)) if f.endswith(".pid")]
    order = ("mx", "submission", "mailbox", "rabbitmq", "cassandra", "opensearch", "dns")
    ranked = [n for prefix in order for n in names if re.fullmatch(prefix + r"\d*", n)]
    return ranked


def webadmin_urls(first):
    """`first` (the mailbox tier's webadmin, from env), then every other node's: users, queues and
    mail repositories live in Cassandra, so any node answers for them while one is down."""
    urls = [first.rstrip("/")]
    out = subprocess.run([os.path.join(ROOT, "mailcluster"), "status"], capture_output=True, text=True, timeout=120).stdout
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 4 and re.fullmatch(r"(mx|submission|mailbox)\d+", parts[0]):
            url = f"http://{parts[1].rsplit(':', 1)[0]}:8000"
            if url not in urls:
                urls.append(url)
    return urls


class WebAdmin:
    def __init__(self, base_urls, auth_header):
        self.bases = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        name, _, value = auth_header.partition(":")
        self.header = (name.strip(), value.strip())

    @property
    def base(self):
        return self.bases[0]

    def call(self, method, path, body=None, accept="application/json"):
        """(status, body) from the first webadmin that answers; the last error if none does."""
        error = None
        for base in self.bases:
            request = urllib.request.Request(base + path, method=method, data=body.encode() if body else None,
                                             headers={self.header[0]: self.header[1],
                                                      "Content-Type": "application/json", "Accept": accept})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.read().decode(errors="replace")
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode(errors="replace")
            except (urllib.error.URLError, OSError) as e:
                error = e   # that node is down (a fault run may have killed it): ask the next
        raise error

    def create_user(self, address, password):
        """Creates the user, or sets the password of an existing one (`?force`, James 3.8)."""
        status, body = self.call("PUT", f"/users/{address}", '{"password":"%s"}' % password)
        if status == 409:
            status, body = self.call("PUT", f"/users/{address}?force", '{"password":"%s"}' % password)
        if status != 204:
            raise RuntimeError(f"webadmin: creating {address} -> {status} {body}")

    def queue_size(self, queue):
        status, body = self.call("GET", f"/mailQueues/{queue}")
        match = re.search(r'"size":(\d+)', body) if status == 200 else None
        return int(match.group(1)) if match else None


def _quote(text):
    return urllib.request.quote(text, safe="")


class ErrorRepositories:
    """Mail the cluster's mailet pipelines gave up on (James's var/mail/error and friends).

    A message that got a 250 and landed here is not in its mailbox: for the user it is lost
    until an operator reprocesses it. The harness notes which repositories gained mail
    during a run, and which of its messages they hold.
    """

    TOKEN = re.compile(rb"Message-ID:\s*<bench\.([A-Za-z0-9_-]+\.\d+)@", re.I)

    def __init__(self, webadmin):
        self.webadmin = webadmin

    def keys(self):
        try:
            return self._keys()
        except (urllib.error.URLError, OSError):
            return {}   # no webadmin answers right now: nothing known, try again later

    def _keys(self):
        status, body = self.webadmin.call("GET", "/mailRepositories")
        if status != 200:
            return {}
        keys = {}
        for path in re.findall(r'"path":"([^"]+)"', body):
            status, listing = self.webadmin.call("GET", f"/mailRepositories/{path}/mails?limit=10000")
            if status == 200:
                keys[path] = set(re.findall(r'"([^"]+)"', listing))
        return keys

    def new_since(self, before, limit=200):
        """{repository: [token or key]} of the mail that arrived since `before` (a keys() result)."""
        found = {}
        for path, keys in self.keys().items():
            new = sorted(keys - before.get(path, set()))
            for key in new[:limit]:
                found.setdefault(urllib.request.unquote(path), []).append(self._token(path, key) or key)
            if len(new) > limit:
                found[urllib.request.unquote(path)].append(f"... and {len(new) - limit} more")
        return found

    def _token(self, path, key):
        try:
            status, text = self.webadmin.call("GET", f"/mailRepositories/{path}/mails/{_quote(key)}",
                                              accept="message/rfc822")
        except (urllib.error.URLError, OSError):
            return None
        match = self.TOKEN.search(text.encode()) if status == 200 else None
        return match.group(1).decode() if match else None
