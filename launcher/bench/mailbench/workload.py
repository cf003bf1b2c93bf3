"""The messages of a run: ~10 KB each, with the headers and MIME structure of
ordinary mail (multipart/alternative text + HTML, some with a PDF attached).

Building each message with the email package would cost the load generator more
CPU than the servers under test on this small machine, so a few bodies are built
once and each message only fills in its envelope headers and token.
"""
import base64
import email.utils
import random
import time

SENDER_DOMAIN = "load.example.org"
WORDS = ("invoice meeting agenda quarterly report shipment delivery schedule update review "
         "customer order account payment reminder project budget forecast team notes draft "
         "release server network storage backup contract renewal ticket support request").split()


def _paragraphs(rng, size):
    text, lines = [], 0
    while sum(len(t) for t in text) < size:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
        text.append(sentence)
        lines += 1
        if lines % 5 == 0:
            text.append("\r\n\r\n")
    # RFC 5322 line length: wrap at 76 characters
    words, out, line = " ".join(text).split(" "), [], ""
    for word in words:
        if len(line) + len(word) + 1 > 76:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    out.append(line)
    return "\r\n".join(out)


def _body(rng, variant):
    """(content-type header value, body text) of one variant."""
    alt_boundary = f"=_alt_{variant:04d}_{rng.randrange(1 << 30):08x}"
    plain = _paragraphs(rng, 3600)
    html = "<html><body>\r\n" + "".join(
        f"<p>{p}</p>\r\n" for p in _paragraphs(rng, 4200).split("\r\n\r\n")) + "</body></html>"
    alternative = (f"--{alt_boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   f"Content-Transfer-Encoding: 8bit\r\n\r\n{plain}\r\n"
                   f"--{alt_boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
                   f"Content-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n--{alt_boundary}--\r\n")
    alt_type = f'multipart/alternative; boundary="{alt_boundary}"'
    if variant % 3 != 0:  # two thirds: text and HTML only
        return alt_type, alternative
    # one third: the same, plus a small attachment (total stays ~10 KB)
    mixed_boundary = f"=_mixed_{variant:04d}_{rng.randrange(1 << 30):08x}"
    attachment = base64.encodebytes(b"%PDF-1.4\n" + rng.randbytes(1500)).decode().replace("\n", "\r\n")
    body = (f"--{mixed_boundary}\r\nContent-Type: {alt_type}\r\n\r\n{alternative}"
            f"--{mixed_boundary}\r\nContent-Type: application/pdf; name=\"statement-{variant}.pdf\"\r\n"
            f"Content-Disposition: attachment; filename=\"statement-{variant}.pdf\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}--{mixed_boundary}--\r\n")
    return f'multipart/mixed; boundary="{mixed_boundary}"', body


class Workload:
    """Message number n of run `run_id`: its recipient, envelope sender and text.

    The token `<run_id>.<n>` is in the Message-ID, which is how the mailbox side
    recognises each message (and notices copies).
    """

    def __init__(self, run_id, recipients, variants=12, seed=5):
        rng = random.Random(seed)
        self.run_id = run_id
        self.recipients = recipients
        self.bodies = [_body(rng, v) for v in range(variants)]
        self.subjects = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize()
                         for _ in range(variants)]

    def token(self, n):
        return f"{self.run_id}.{n}"

    def message_id(self, n):
        return f"<bench.{self.token(n)}@{SENDER_DOMAIN}>"

    def recipient(self, n):
        return self.recipients[n % len(self.recipients)]

    def sender(self, n):
        return f"sender{n % 97}@{SENDER_DOMAIN}"

    def message(self, n):
        content_type, body = self.bodies[n % len(self.bodies)]
        sender, recipient = self.sender(n), self.recipient(n)
        now = time.time()
        date = email.utils.formatdate(now, localtime=False)
        headers = (
            f"Received: from workstation{n % 13}.{SENDER_DOMAIN} (workstation{n % 13}.{SENDER_DOMAIN} [192.0.2.{n % 250 + 1}])\r\n"
            f"\tby smtp-out.{SENDER_DOMAIN} with ESMTPSA id {n:08x}; {date}\r\n"
            f"From: \"Sender {n % 97}\" <{sender}>\r\n"
            f"To: <{recipient}>\r\n"
            f"Subject: {self.subjects[n % len(self.subjects)]} #{n}\r\n"
            f"Date: {date}\r\n"
            f"Message-ID: {self.message_id(n)}\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}\r\n"
            f"X-Mailer: mailcluster-bench\r\n"
            f"List-Unsubscribe: <mailto:unsubscribe@{SENDER_DOMAIN}?subject=unsubscribe>\r\n"
            "\r\n")
        return (headers + body).encode("utf-8")


class OutboundWorkload(Workload):
    """Users' mail to the outside world: every message from one authenticated user of the
    cluster (the submission tier refuses another envelope sender) to recipients at the
    remote test domain."""

    def __init__(self, run_id, user, remote_domain, recipients=50):
        super().__init__(run_id, [f"rcpt{i:02d}@{remote_domain}" for i in range(recipients)])
        self.user = user

    def sender(self, n):
        return self.user
