"""The load generator: concurrent SMTP senders behaving as a sending MTA does.

Each sender thread opens a connection to one exchanger chosen at random among the
best MX preference, and delivers up to `per_connection` messages on it (a sending
MTA reuses a connection while it has a backlog for that destination). A 4xx reply or
a refused, reset or timed-out connection ends the connection; the message is tried
again on another exchanger after a short backoff, for a bounded number of attempts.
A 5xx reply is final. With `login`, each connection is a mail client's to a submission
port instead: STARTTLS and AUTH before the first message. For each message the outcome is recorded: the time of the 250
(the server's promise to deliver) or why there was none.
"""
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Outcome:
    n: int
    first_try_at: float = None
    accepted_at: float = None      # time.time() of the 250 after DATA
    accepted_by: str = None
    attempts: int = 0
    unanswered_data: int = 0       # times the connection broke while the server had the whole message
    final_error: str = None        # why it was never accepted


@dataclass
class SendStats:
    outcomes: dict = field(default_factory=dict)      # n -> Outcome
    temporary_failures: int = 0                       # 4xx replies and broken/refused connections
    failures_by_kind: dict = field(default_factory=dict)
    connections: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0

    def accepted(self):
        return [o for o in self.outcomes.values() if o.accepted_at is not None]


class TemporaryFailure(Exception):
    """The message may be tried again elsewhere (4xx, or the connection failed)."""

    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class PermanentFailure(Exception):
    pass


# The cluster's certificate is its own (self-signed locally): encryption, not identity.
UNVERIFIED_TLS = ssl.create_default_context()
UNVERIFIED_TLS.check_hostname = False
UNVERIFIED_TLS.verify_mode = ssl.CERT_NONE


def new_smtp(address, timeout):
    """An unconnected client for `address`, ready for STARTTLS once connected."""
    smtp = smtplib.SMTP(timeout=timeout)
    # STARTTLS's server name: smtplib keeps it only when its constructor connects
    smtp._host = address[0]
    return smtp


def start_tls_and_login(smtp, login, helo):
    """STARTTLS, EHLO again and AUTH, as a mail client on a submission port after its EHLO:
    None when authenticated, else (stage, code, reply) of the refusal."""
    code, reply = smtp.starttls(context=UNVERIFIED_TLS)
    if code != 220:
        return "STARTTLS", code, reply
    smtp.ehlo(helo)
    try:
        smtp.login(*login)
    except smtplib.SMTPAuthenticationError as e:
        return "AUTH", e.smtp_code, e.smtp_error
    return None


class LoadGenerator:
    def __init__(self, workload, resolver, count, concurrency, per_connection=10,
                 max_attempts=300, retry_for=600.0, deadline=None, helo="smtp-out.load.example.org", timeout=60.0,
                 login=None, rate=None):
        self.workload, self.resolver = workload, resolver
        # paced mode: new messages start at `rate` per second (retries are not paced), so the
        # latency measured is that of a sustainable load, not of a backlog
        self.rate = rate
        self._paced_from = None
        # (user, password): submission, as a mail client: STARTTLS then AUTH on each connection
        self.login = login
        self.count, self.concurrency, self.per_connection = count, concurrency, per_connection
        # A sending MTA keeps a message for days; here a message is retried for `retry_for`
        # seconds (long enough to outlast a backend restart) or `max_attempts` times.
        self.max_attempts, self.retry_for = max_attempts, retry_for
        self.deadline, self.helo, self.timeout = deadline, helo, timeout
        self.stats = SendStats()
        self._next = 0
        self._lock = threading.Lock()
        self._retry = []           # (not_before, n) waiting for their next attempt
        self._in_flight = 0        # messages a sender thread holds right now
        self._stop = threading.Event()

    # -- bookkeeping shared by the sender threads --------------------------------------
    def _take(self):
        """The next message to try (a retry that is due first, else a new one); None when every
        message has its outcome, or the deadline passed."""
        while not self._stop.is_set():
            if self.deadline and time.time() > self.deadline:
                self._stop.set()
                break
            with self._lock:
                now = time.monotonic()
                for i, (not_before, n) in enumerate(self._retry):
                    if not_before <= now:
                        del self._retry[i]
                        return n
                wait = self._pace(now)
                if self._next < self.count and wait <= 0:
                    n = self._next
                    self._next += 1
                    self.stats.outcomes[n] = Outcome(n, first_try_at=time.time())
                    return n
                if self._next >= self.count and not self._retry and self._in_flight == 0:
                    return None
            time.sleep(min(0.05, wait) if wait > 0 else 0.05)
        return None

    def _pace(self, now):
        """Seconds until the next new message may start (<= 0: now)."""
        if not self.rate:
            return 0.0
        if self._paced_from is None:
            self._paced_from = now
        return self._paced_from + self._next / self.rate - now

    def _temporary(self, n, failure, failed_address, avoid):
        with self._lock:
            self.stats.temporary_failures += 1
            self.stats.failures_by_kind[failure.kind] = self.stats.failures_by_kind.get(failure.kind, 0) + 1
            outcome = self.stats.outcomes[n]
            if outcome.attempts >= self.max_attempts or time.time() - outcome.first_try_at > self.retry_for:
                outcome.final_error = f"gave up after {outcome.attempts} attempts, last: {failure}"
                return
            # a short backoff growing with the attempts, then another exchanger
            backoff = min(0.2 * max(outcome.attempts, 1), 5.0)
            self._retry.append((time.monotonic() + backoff, n))
        avoid.add(failed_address)

    def stop(self):
        self._stop.set()

    def progress(self):
        with self._lock:
            return sum(1 for o in self.stats.outcomes.values() if o.accepted_at is not None)

    # -- one sender thread ------------------------------------------------------------
    def _sender(self):
        avoid = set()       # exchangers that failed this thread recently
        avoid_since = time.monotonic()
        n = self._take_counted()
        while n is not None:
            if self.deadline and time.time() > self.deadline:
                self._stop.set()
                self._done_with(n, "deadline reached before acceptance")
                break
            if time.monotonic() - avoid_since > 5.0:
                avoid, avoid_since = set(), time.monotonic()
            try:
                host, address = self.resolver.choose(avoid)
            except (OSError, LookupError) as e:
                self._temporary(n, TemporaryFailure("dns", e), None, avoid)
                self._release()
                n = self._take_counted()
                continue
            n = self._connection(address, n, avoid)

    def _take_counted(self):
        n = self._take()
        if n is not None:
            with self._lock:
                self._in_flight += 1
        return n

    def _release(self):
        with self._lock:
            self._in_flight -= 1

    def _done_with(self, n, error):
        with self._lock:
            self.stats.outcomes[n].final_error = error
            self._in_flight -= 1

    def _connection(self, address, n, avoid):
        """Delivers messages on one connection starting with n; returns the next message to send."""
        label = f"{address[0]}:{address[1]}"
        with self._lock:
            self.stats.connections += 1
        try:
            smtp = new_smtp(address, self.timeout)
            smtp.connect(address[0], address[1])
            code, reply = smtp.ehlo(self.helo)
            if code != 250:
                raise self._classify(code, reply, "EHLO")
            refusal = start_tls_and_login(smtp, self.login, self.helo) if self.login else None
            if refusal:
                stage, code, reply = refusal
                raise self._classify(code, reply, stage)
        except (TemporaryFailure, OSError, smtplib.SMTPException) as e:
            smtp.close()
            # the message's attempt ended before its MAIL FROM: it counts as an attempt all the same
            with self._lock:
                self.stats.outcomes[n].attempts += 1
            failure = e if isinstance(e, TemporaryFailure) else TemporaryFailure(_kind(e), e)
            self._temporary(n, failure, address, avoid)
            self._release()
            return self._take_counted()
        except PermanentFailure as e:
            smtp.close()
            self._done_with(n, str(e))
            return self._take_counted()
        try:
            for _ in range(self.per_connection):
                with self._lock:
                    self.stats.outcomes[n].attempts += 1
                try:
                    self._one_message(smtp, n)
                except TemporaryFailure as failure:
                    self._temporary(n, failure, address, avoid)
                    self._release()
                    return self._take_counted()
                except PermanentFailure as e:
                    self._done_with(n, str(e))
                else:
                    with self._lock:
                        outcome = self.stats.outcomes[n]
                        outcome.accepted_at, outcome.accepted_by = time.time(), label
                        self._in_flight -= 1
                n = self._take_counted()
                if n is None or self._stop.is_set():
                    return n
            return n
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _one_message(self, smtp, n):
        stage = "envelope"
        try:
            code, reply = smtp.mail(self.workload.sender(n))
            if code != 250:
                raise self._classify(code, reply, "MAIL")
            code, reply = smtp.rcpt(self.workload.recipient(n))
            if code not in (250, 251):
                raise self._classify(code, reply, "RCPT")
            stage = "DATA"
            code, reply = smtp.data(self.workload.message(n))
            if code != 250:
                raise self._classify(code, reply, "DATA")
        except (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as e:
            if stage == "DATA" and not isinstance(e, smtplib.SMTPResponseException):
                with self._lock:
                    self.stats.outcomes[n].unanswered_data += 1
            # a connection lost before the final reply: the message may or may not have been
            # taken; a sending MTA sends it again (RFC 5321 4.1.1.4), which can duplicate it
            if isinstance(e, smtplib.SMTPResponseException):
                raise self._classify(e.smtp_code, e.smtp_error, "reply")
            raise TemporaryFailure(_kind(e), e)

    @staticmethod
    def _classify(code, reply, stage):
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        if 400 <= code < 500 or code == -1:
            return TemporaryFailure(f"{code // 100}xx" if code > 0 else "disconnected", f"{stage} {code} {text}")
        return PermanentFailure(f"{stage} {code} {text}")

    def run(self):
        self.stats.started_at = time.time()
        threads = [threading.Thread(target=self._sender, name=f"sender-{i}", daemon=True)
                   for i in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)
                if self.deadline and time.time() > self.deadline + self.timeout + 5:
                    break   # a thread stuck past the deadline: do not wait for it
        self.stats.finished_at = time.time()
        with self._lock:
            for outcome in self.stats.outcomes.values():
                if outcome.accepted_at is None and outcome.final_error is None:
                    outcome.final_error = "not sent before the deadline"
        return self.stats


def _kind(error):
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, (ConnectionResetError, BrokenPipeError, smtplib.SMTPServerDisconnected)):
        return "connection lost"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    return type(error).__name__
