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
    try:
        with open(os.path.join(VAR, "cassandra", "conf", "cassandra.yaml")) as f:
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
    return (f"the message is in Cassandra (blob store, one node) with `commitlog_sync: {mode}`"
            + (f" ({window})" if window else "")
            + (": the commit log is fsynced before a write is acknowledged, so before the `250`; "
               if synced else ": a write is acknowledged before its commit log is fsynced, so a power cut can "
               "lose up to that period of accepted mail; ")
            + "its reference in a durable RabbitMQ queue, persistent, acknowledged by a publisher confirm "
              "(RabbitMQ confirms a persistent message once it is on disk).")


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
        if name == "rabbitmq":
            # the launcher's rabbitmq.pid is the wrapper script; the broker VM records its own
            pid = _read_pid(os.path.join(VAR, "rabbitmq", "beam.pid"))
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
