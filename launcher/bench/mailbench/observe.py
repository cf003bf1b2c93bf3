"""Watching mail arrive: who got which message, when it became visible, how many copies.

Both watchers look for the run's token in the Message-ID of new messages only:
the cluster's over IMAP (what a user's client sees), the reference's by scanning
its Maildirs (Dovecot's own storage; no IMAP server runs there). They poll, so a
latency is known to within one polling interval, which the report states.
"""
import imaplib
import os
import re
import ssl
import threading
import time

MESSAGE_ID_TOKEN = re.compile(rb"<bench\.([A-Za-z0-9_-]+\.\d+)@", re.I)
UID = re.compile(rb"UID (\d+)")
MESSAGE_ID = re.compile(rb"Message-ID:\s*(<[^>\r\n]+>)", re.I)


class Deliveries:
    """token -> times at which each copy was first seen (several = duplicates)."""

    def __init__(self, run_id):
        self.prefix = run_id + "."
        self.seen = {}
        self.lock = threading.Lock()
        self.errors = {}

    def record(self, token, when):
        if not token.startswith(self.prefix):
            return  # another run's message, or unrelated mail
        with self.lock:
            self.seen.setdefault(token, []).append(when)

    def note_error(self, kind):
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def delivered_count(self):
        with self.lock:
            return len(self.seen)

    def snapshot(self):
        with self.lock:
            return {t: list(v) for t, v in self.seen.items()}


class ImapInbox:
    """One user's INBOX over IMAP with STARTTLS (the mailbox node refuses LOGIN in clear)."""

    def __init__(self, host, port, user, password):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.conn = None
        self.next_uid = None   # first UID of this run
        self.seen = set()      # UIDs already counted, at or above `low`
        self.low = None        # every UID below this one is counted or given up as a gap
        self.gaps = {}         # UID below the highest seen, not seen yet -> when first missed
        self.given_up = set()  # gaps `low` has moved past: looked for again by a sweep
        self.fetched_exists = -1   # EXISTS when we last listed UIDs
        self.tokens = {}       # token of this run -> its full Message-ID, as delivered here
        self.exists = 0        # messages in INBOX, as the server last said

    def _connect(self):
        context = ssl.create_default_context()
        # the local cluster's certificate is self-signed: we test delivery, not the PKI
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = imaplib.IMAP4(self.host, self.port, timeout=30)
        conn.starttls(ssl_context=context)
        conn.login(self.user, self.password)
        typ, data = conn.select("INBOX", readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"SELECT INBOX for {self.user}: {typ}")
        self.exists = int(data[0])
        self.conn = conn
        if self.next_uid is None:
            # only messages arriving from now on belong to this run
            _, data = conn.response("UIDNEXT")
            self.next_uid = int(data[0]) if data and data[0] else self._highest_uid() + 1

    def _highest_uid(self):
        typ, data = self.conn.uid("SEARCH", None, "ALL")
        uids = [int(u) for u in (data[0] or b"").split()]
        return max(uids, default=0)

    def start(self):
        self._connect()

    # A UID below the highest seen that stays missing this long is a gap (a store that failed
    # after taking its UID), no longer listed at every poll; the final sweep still looks for it.
    GAP_SECONDS = 60

    def poll(self, deliveries, sweep=False):
        """Counts the messages that appeared since the last poll. The cost of a poll does not
        grow with the run: a NOOP when nothing arrived, otherwise a UID listing from the lowest
        UID not yet accounted for (`low`), not from the run's first. `sweep` lists every UID of
        the run once more (the end of a run), for a message stored late under a given-up gap."""
        try:
            if self.conn is None:
                self._connect()
                self.fetched_exists = -1
            self.conn.noop()   # lets the server tell us about new messages (untagged EXISTS)
            self.conn.response("RECENT")   # not needed; dropped so it does not pile up
            _, exists = self.conn.response("EXISTS")
            if exists and exists[-1]:
                self.exists = int(exists[-1])
            if self.exists == 0:
                return   # James answers BAD to "UID FETCH n:*" on an empty mailbox
            if self.low is None:
                self.low = self.next_uid
            if self.exists == self.fetched_exists and not self.gaps and not sweep:
                return   # nothing arrived
            # From `low`, not from the highest seen: concurrent deliveries can make UID n+1
            # visible before UID n, and n would otherwise never be counted.
            typ, listing = self.conn.uid("FETCH", f"{self.low}:*", "(UID)")
            self.fetched_exists = self.exists
            listed = {int(m.group(1)) for item in listing or [] if isinstance(item, bytes)
                      for m in [UID.search(item)] if m and int(m.group(1)) >= self.low}
            new = sorted((listed - self.seen) | (self.given_up if sweep else set()))
            data = []
            for start in range(0, len(new), 200):
                chunk = ",".join(str(uid) for uid in new[start:start + 200])
                typ, part = self.conn.uid("FETCH", chunk, "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                data.extend(part or [])
        except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort, EOFError) as e:
            deliveries.note_error(f"imap {type(e).__name__}: {str(e)[:80]}")
            self.close()
            return
        now = time.time()
        for item in data:
            if not isinstance(item, tuple):
                continue
            uid = UID.search(item[0])
            if not uid or int(uid.group(1)) in self.seen:
                continue
            self.seen.add(int(uid.group(1)))
            self.given_up.discard(int(uid.group(1)))
            token = MESSAGE_ID_TOKEN.search(item[1] or b"")
            if token:
                deliveries.record(token.group(1).decode(), now)
                message_id = MESSAGE_ID.search(item[1] or b"")
                if message_id:
                    self.tokens[token.group(1).decode()] = message_id.group(1).decode()
        self._advance_low(now)

    def _advance_low(self, now):
        """Moves `low` past every UID counted or missing for longer than GAP_SECONDS, and
        forgets what lies below it, so the next listing starts there."""
        highest = max(self.seen, default=self.low - 1)
        for uid in range(self.low, highest):
            if uid not in self.seen:
                self.gaps.setdefault(uid, now)
        while self.low <= highest:
            if self.low in self.seen:
                self.seen.discard(self.low)
            elif now - self.gaps.get(self.low, now) < self.GAP_SECONDS:
                break
            else:
                self.given_up.add(self.low)
            self.gaps.pop(self.low, None)
            self.low += 1

    def searchable(self, tokens):
        """Those of `tokens` delivered here that IMAP SEARCH finds by their Message-ID (what a
        user's client asks the search index), each with the UIDs SEARCH returned."""
        found = {}
        try:
            if self.conn is None:
                self._connect()
            for token in tokens:
                message_id = self.tokens.get(token)
                if message_id is None:
                    continue
                typ, data = self.conn.uid("SEARCH", None, "HEADER", "Message-ID", f'"{message_id}"')
                uids = [int(u) for u in (data[0] or b"").split()] if typ == "OK" else []
                if uids:
                    found[token] = uids
        except (OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort, EOFError):
            self.close()   # searched again in the next round
        return found

    def close(self):
        if self.conn is not None:
            try:
                self.conn.logout()
            except Exception:  # the connection may already be gone (node killed)
                pass
        self.conn = None


class MaildirInboxes:
    """Every Maildir under a root (the reference's), scanned for files not seen before."""

    def __init__(self, root):
        self.root = root
        self.known = set()

    def start(self):
        pass

    def poll(self, deliveries):
        now = time.time()
        for dirpath, dirnames, filenames in os.walk(self.root):
            if os.path.basename(dirpath) not in ("new", "cur"):
                continue
            for name in filenames:
                # Dovecot moves new/ to cur/ only when a client reads; the base name stays
                key = (os.path.dirname(dirpath), name.split(":2,")[0])
                if key in self.known:
                    continue
                self.known.add(key)
                try:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        head = f.read(4096)
                except FileNotFoundError:
                    self.known.discard(key)   # moved between listing and opening: next poll
                    continue
                token = MESSAGE_ID_TOKEN.search(head)
                if token:
                    deliveries.record(token.group(1).decode(), now)

    def close(self):
        pass


class SinkDumps:
    """The files Postfix's smtp-sink writes (`-d DIR/%M.`), one per message it received: the
    outside world's view of outbound mail."""

    def __init__(self, root):
        self.root = root
        self.known = set()

    def start(self):
        pass

    def poll(self, deliveries):
        now = time.time()
        for name in os.listdir(self.root):
            if name in self.known:
                continue
            try:
                with open(os.path.join(self.root, name), "rb") as f:
                    # the Message-ID comes after the cluster's Received and DKIM-Signature headers
                    head = f.read(65536)
            except FileNotFoundError:
                continue
            token = MESSAGE_ID_TOKEN.search(head)
            if token is None and len(head) < 65536 and b"\n.\n" not in head and b"\r\n\r\n" not in head:
                continue   # still being written: the next poll reads it whole
            self.known.add(name)
            if token:
                deliveries.record(token.group(1).decode(), now)

    def close(self):
        pass


class Watcher(threading.Thread):
    """Polls every inbox every `interval` seconds until stopped."""

    def __init__(self, inboxes, deliveries, interval=0.5):
        super().__init__(name="watcher", daemon=True)
        self.inboxes, self.deliveries, self.interval = inboxes, deliveries, interval
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            started = time.monotonic()
            for inbox in self.inboxes:
                inbox.poll(self.deliveries)
            self._stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def poll_once(self, sweep=False):
        for inbox in self.inboxes:
            if sweep and isinstance(inbox, ImapInbox):
                inbox.poll(self.deliveries, sweep=True)
            else:
                inbox.poll(self.deliveries)

    def stop(self):
        self._stop_event.set()
        self.join(30)
        for inbox in self.inboxes:
            inbox.close()
