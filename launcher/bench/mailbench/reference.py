"""The reference system: Postfix receiving and Dovecot delivering over LMTP into Maildir.

Both are Debian's packages, run as private instances of the harness under
var/reference/ with their own configuration, queue, state and logs, on 127.0.8.1
(port 25 for SMTP, 24 for LMTP) which nothing else of the project uses. Durability is
their default: Postfix fsyncs a queue file before its 250, Dovecot's mail_fsync is
"optimized". They are started in the foreground under our own PIDs and stopped by
those PIDs only; the system's own postfix/dovecot (if any) are never touched.
"""
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

ADDRESS = "127.0.8.1"
SMTP_PORT, LMTP_PORT = 25, 24

POSTFIX_MASTER_CF = """\
# Postfix services of the reference instance: the stock ones a receiving MTA uses,
# without chroot (the queue lives in var/reference). The SMTP listener names its address:
# Postfix accepts in inet_interfaces only addresses configured on an interface, and
# 127.0.8.1 is only reachable through lo's 127.0.0.0/8 route.
{address}:{smtp_port} inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

POSTFIX_MAIN_CF = """\
# The reference Postfix: accepts mail for {domain} from anyone (as an MX does), refuses
# unknown recipients at RCPT, hands everything to Dovecot over LMTP. Defaults otherwise.
compatibility_level = 3.6
queue_directory = {home}/postfix/queue
data_directory = {home}/postfix/data
maillog_file = {home}/log/postfix.log
maillog_file_prefixes = {home}/log
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = reference.{domain}
mydestination =
mynetworks = {address}/32
local_recipient_maps =
alias_maps =
alias_database =
virtual_mailbox_domains = {domain}
virtual_mailbox_maps = texthash:{home}/postfix/etc/recipients
virtual_transport = lmtp:[{address}]:{lmtp_port}
biff = no
"""

DOVECOT_CONF = """\
# The reference Dovecot: LMTP only, Maildir under {home}/maildir, users from a file.
base_dir = {home}/dovecot/run
state_dir = {home}/dovecot/state
instance_name = mailcluster-reference
protocols = lmtp
listen = {address}
ssl = no
log_path = {home}/log/dovecot.log
mail_location = maildir:{home}/maildir/%d/%n/Maildir
first_valid_uid = {uid}
first_valid_gid = {gid}
passdb {{
  driver = passwd-file
  args = {home}/dovecot/users
}}
userdb {{
  driver = passwd-file
  args = {home}/dovecot/users
}}
service lmtp {{
  inet_listener lmtp {{
    address = {address}
    port = {lmtp_port}
  }}
}}
"""


def _port_free(address, port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((address, port)) != 0


def _wait_port(address, port, timeout, process):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not _port_free(address, port):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.2)
    return False


class Reference:
    DURABILITY = ("Postfix writes and fsyncs the queue file before its `250` (its default); Dovecot "
                  "delivers over LMTP into Maildir with `mail_fsync = optimized` (fsync of each new file "
                  "before the LMTP `250`).")

    def __init__(self, var_dir, domain, users):
        self.home = os.path.join(var_dir, "reference")
        self.domain, self.users = domain, users        # users: {address: password}
        self.mail_user = pwd.getpwnam("mail")           # Maildirs belong to Debian's "mail" user
        self.processes = {}

    @property
    def maildir_root(self):
        return os.path.join(self.home, "maildir")

    def _pid_file(self, name):
        return os.path.join(self.home, "run", f"{name}.pid")

    def _fill(self, template):
        return template.format(home=self.home, domain=self.domain, address=ADDRESS, lmtp_port=LMTP_PORT, smtp_port=SMTP_PORT,
                               uid=self.mail_user.pw_uid, gid=self.mail_user.pw_gid)

    def prepare(self):
        """Fresh queue and Maildirs, configuration written from the templates above."""
        self.stop()
        for sub in ("maildir", "postfix/queue", "postfix/data", "dovecot/run", "dovecot/state"):
            shutil.rmtree(os.path.join(self.home, sub), ignore_errors=True)
        for sub in ("log", "run", "postfix/etc", "postfix/queue", "postfix/data", "dovecot/run", "dovecot/state", "maildir"):
            os.makedirs(os.path.join(self.home, sub), exist_ok=True)
        os.chown(self.maildir_root, self.mail_user.pw_uid, self.mail_user.pw_gid)
        postfix_user = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.home, "postfix", "data"), postfix_user.pw_uid, postfix_user.pw_gid)
        etc = os.path.join(self.home, "postfix", "etc")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(self._fill(POSTFIX_MAIN_CF))
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(self._fill(POSTFIX_MASTER_CF))
        with open(os.path.join(etc, "recipients"), "w") as f:
            f.writelines(f"{address} ok\n" for address in self.users)
        with open(os.path.join(self.home, "dovecot", "dovecot.conf"), "w") as f:
            f.write(self._fill(DOVECOT_CONF))
        users_file = os.path.join(self.home, "dovecot", "users")
        with open(users_file, "w") as f:
            for address, password in self.users.items():
                local, _, domain = address.partition("@")
                f.write(f"{address}:{{PLAIN}}{password}:{self.mail_user.pw_uid}:{self.mail_user.pw_gid}::"
                        f"{self.maildir_root}/{domain}/{local}::\n")
        os.chmod(users_file, 0o640)
        os.chown(users_file, 0, grp.getgrnam("dovecot").gr_gid)
        # Postfix creates its queue directories with the right owners and modes
        subprocess.run(["postfix", "-c", etc, "check"], check=True, capture_output=True, text=True)
        subprocess.run(["doveconf", "-c", os.path.join(self.home, "dovecot", "dovecot.conf"), "-n"],
                       check=True, capture_output=True, text=True)

    def _start(self, name, argv, port):
        if not _port_free(ADDRESS, port):
            raise RuntimeError(f"reference {name}: {ADDRESS}:{port} is already taken by another process")
        log = open(os.path.join(self.home, "log", f"{name}.stdout.log"), "ab")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        with open(self._pid_file(name), "w") as f:
            f.write(str(process.pid))
        self.processes[name] = process
        if not _wait_port(ADDRESS, port, 30, process):
            raise RuntimeError(f"reference {name} did not start listening on {ADDRESS}:{port}; "
                               f"see {self.home}/log/{name}.log and {name}.stdout.log")

    def start(self):
        self._start("dovecot", ["dovecot", "-F", "-c", os.path.join(self.home, "dovecot", "dovecot.conf")], LMTP_PORT)
        self._start("postfix", ["/usr/lib/postfix/sbin/master", "-d", "-c", os.path.join(self.home, "postfix", "etc")],
                    SMTP_PORT)

    def pids(self):
        """{name: pid} of the reference's master processes (their children are measured with them)."""
        pids = {}
        for name in ("postfix", "dovecot"):
            try:
                with open(self._pid_file(name)) as f:
                    pid = int(f.read())
                os.kill(pid, 0)
                pids[f"reference-{name}"] = pid
            except (OSError, ValueError):
                pass
        return pids

    def stop(self):
        """TERM each master process by its recorded PID, KILL after a grace period."""
        for name in ("postfix", "dovecot"):
            path = self._pid_file(name)
            try:
                with open(path) as f:
                    pid = int(f.read())
            except (OSError, ValueError):
                continue
            if not _is_ours(pid, name):
                os.remove(path)
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.time() + 20
            while time.time() < deadline and _alive(pid, self.processes.get(name)):
                time.sleep(0.2)
            if _alive(pid, self.processes.get(name)):
                os.kill(pid, signal.SIGKILL)
            if name in self.processes:
                self.processes.pop(name).wait(5)
            os.remove(path)


def _alive(pid, process):
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _is_ours(pid, name):
    """A PID file may outlive its process; only signal a live process of the expected program."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    return b"reference" in cmdline and (b"master" if name == "postfix" else b"dovecot") in cmdline
