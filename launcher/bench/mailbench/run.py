"""One load run against one target (the cluster or the reference): send, watch the
mailboxes, sample CPU/RSS, wait (bounded) for delivery, and account for every message.
"""
import os
import sys
import threading
import time

from . import procstats
from .observe import Deliveries, Watcher
from .sender import LoadGenerator


HARNESS = "bench-harness"


class Target:
    """What a run needs to know about a mail system."""

    def __init__(self, name, resolver, inboxes, components):
        self.name = name
        self.resolver = resolver          # dnsmx.MxResolver
        self.inboxes = inboxes            # ImapInbox / MaildirInboxes
        self.components = components      # () -> {component: pid}


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100
    lower = int(k)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (k - lower)


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run_load(target, workload, count, concurrency, send_deadline, drain_deadline, poll_interval=0.5,
             settle_seconds=3.0, during_load=None, per_connection=10, error_repositories=None,
             stall_seconds=120, recovering=lambda: False, searchable_within=None, login=None, rate=None):
    """Sends `count` messages and returns the accounting (a dict, ready for JSON).

    send_deadline: wall-clock time after which no message is sent any more;
    drain_deadline: after which we stop waiting for accepted messages to show up; the wait
    also ends when nothing new showed up for `stall_seconds` (and no recovery is under way),
    or when every missing message is in one of the cluster's error repositories.
    searchable_within: if given (seconds), every delivered message must then also be found by
    IMAP SEARCH on its Message-ID; the run waits up to that long for the last one, and reports
    those not found (what a user who searches would miss).
    login: (user, password) when the target is a submission port (STARTTLS and AUTH first).
    rate: paced mode, new messages per second (None: as fast as the connections go).
    during_load(accepted_so_far) is called about 5 times a second while sending (the
    fault runs inject their fault from it); whatever it returns is kept as `events`.
    """
    deliveries = Deliveries(workload.run_id)
    repositories_before = error_repositories.keys() if error_repositories else None
    for inbox in target.inboxes:
        inbox.start()                       # note each INBOX's next UID before sending
    watcher = Watcher(target.inboxes, deliveries, poll_interval)
    # the harness itself is measured too: on a small machine it competes with the servers
    harness = os.getpid()
    sampler = procstats.Sampler(lambda: {**target.components(), HARNESS: harness})
    generator = LoadGenerator(workload, target.resolver, count, concurrency, per_connection=per_connection,
                              deadline=send_deadline, login=login, rate=rate)
    machine_before = procstats.machine_cpu_seconds()
    sampler.start()
    watcher.start()
    sending = threading.Thread(target=generator.run, name="load", daemon=True)
    started = time.time()
    sending.start()
    say(f"{target.name}: sending {count} messages, {concurrency} connections at a time"
        + (f", paced at {rate} msgs/s" if rate else ""))

    last_report = time.time()
    while sending.is_alive():
        sending.join(0.2)
        if during_load is not None:
            during_load(generator.progress())
        if time.time() - last_report >= 10:
            last_report = time.time()
            say(f"{target.name}: accepted {generator.progress()}, delivered {deliveries.delivered_count()}, "
                f"temporary failures {generator.stats.temporary_failures}")
    stats = generator.stats
    accepted = {workload.token(o.n): o for o in stats.accepted()}
    say(f"{target.name}: sending done in {stats.finished_at - started:.1f}s, {len(accepted)} accepted; "
        "waiting for delivery")

    # Drain: until every accepted message is visible, or the bounded wait is over.
    # (A callable deadline lets a fault run count its wait from the end of the recovery.)
    deadline = drain_deadline if callable(drain_deadline) else (lambda: drain_deadline)
    progress_at, delivered_before, repositories_checked_at = time.time(), -1, time.time()
    while time.time() < deadline():
        if during_load is not None:
            during_load(None)
        seen = deliveries.snapshot()
        missing = [token for token in accepted if token not in seen]
        if not missing:
            break
        if len(accepted) - len(missing) != delivered_before or recovering():
            progress_at, delivered_before = time.time(), len(accepted) - len(missing)
        elif time.time() - progress_at > stall_seconds:
            say(f"{target.name}: nothing new delivered for {stall_seconds}s: stop waiting")
            break
        if repositories_before is not None and time.time() - repositories_checked_at > 10:
            repositories_checked_at = time.time()
            parked = {t for tokens in error_repositories.new_since(repositories_before).values() for t in tokens}
            if parked.issuperset(missing):
                say(f"{target.name}: the {len(missing)} missing messages are all in error repositories: stop waiting")
                break
        if time.time() - last_report >= 10:
            last_report = time.time()
            say(f"{target.name}: delivered {len(accepted) - len(missing)} of {len(accepted)} accepted")
        time.sleep(0.5)
    all_delivered_at = time.time()
    # A little longer, so that a late second copy (a duplicate) is seen too.
    time.sleep(settle_seconds)
    watcher.stop()
    watcher.poll_once(sweep=True)
    search = check_searchable(target, deliveries, searchable_within) if searchable_within is not None else None
    sampler.stop()
    machine_after = procstats.machine_cpu_seconds()
    result = account(target, workload, count, concurrency, stats, deliveries, sampler, started,
                     all_delivered_at, machine_before, machine_after, poll_interval)
    if search is not None:
        result.update(search)
    if repositories_before is not None:
        # only this run's messages: mail of an earlier run may reach a repository meanwhile
        parked = {repository: [t for t in tokens if t.startswith(workload.run_id + ".")]
                  for repository, tokens in error_repositories.new_since(repositories_before).items()}
        parked = {repository: tokens for repository, tokens in parked.items() if tokens}
        parked_tokens = {t for tokens in parked.values() for t in tokens}
        result["error_repositories"] = parked
        result["lost_in_error_repositories"] = sum(1 for t in result["lost_tokens_all"] if t in parked_tokens)
    del result["lost_tokens_all"]
    return result


def check_searchable(target, deliveries, within):
    """How many delivered messages IMAP SEARCH finds by Message-ID, and how long after the
    delivery wait ended the last of them became findable (polled every 2 s, up to `within` s)."""
    delivered = set(deliveries.snapshot())
    started = time.time()
    found, last_found_at = {}, None
    while True:
        for inbox in target.inboxes:
            wanted = [t for t in delivered if t not in found and t in getattr(inbox, "tokens", {})]
            if wanted:
                newly = inbox.searchable(wanted)
                if newly:
                    found.update(newly)
                    last_found_at = time.time()
        missing = sorted(delivered - set(found), key=lambda t: int(t.rsplit(".", 1)[1]))
        if not missing or time.time() - started > within:
            break
        time.sleep(2)
    say(f"{target.name}: {len(found)} of {len(delivered)} delivered messages found by SEARCH"
        + (f"; {len(missing)} not found after {within} s" if missing else ""))
    for inbox in target.inboxes:
        inbox.close()
    return {
        "searchable": len(found),
        "unsearchable": len(missing),
        "unsearchable_tokens": missing[:50],
        # a message SEARCH returns under two UIDs is as much a duplicate as one fetched twice
        "found_twice_by_search": sum(1 for uids in found.values() if len(uids) > 1),
        "searchable_after_seconds": round(last_found_at - started, 1) if last_found_at else None,
        "searchable_within_seconds": within,
    }


def account(target, workload, count, concurrency, stats, deliveries, sampler, started, drained_at,
            machine_before, machine_after, poll_interval):
    seen = deliveries.snapshot()
    outcomes = stats.outcomes
    accepted = {workload.token(o.n): o for o in stats.accepted()}
    delivered = [t for t in accepted if t in seen]
    lost = sorted((t for t in accepted if t not in seen), key=lambda t: int(t.rsplit(".", 1)[1]))
    duplicated = sorted(t for t, copies in seen.items() if len(copies) > 1)
    # seen but never acknowledged with 250: the connection broke after the data was taken
    unacknowledged = sorted(t for t in seen if t not in accepted)
    latencies = sorted(seen[t][0] - accepted[t].accepted_at for t in delivered)
    accept_times = sorted(o.accepted_at for o in accepted.values())
    visible_times = sorted(seen[t][0] for t in delivered)

    def rate(times):
        if len(times) < 2:
            return None
        return round(len(times) / max(times[-1] - started, 1e-9), 2)

    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    permanent = {}
    for o in outcomes.values():
        if o.accepted_at is None and o.final_error:
            reason = _reason(o.final_error)
            permanent[reason] = permanent.get(reason, 0) + 1
    result = {
        "target": target.name,
        "messages": count,
        "concurrency": concurrency,
        "sent": len(outcomes),
        "accepted": len(accepted),
        "not_accepted": len(outcomes) - len(accepted),
        "not_accepted_reasons": permanent,
        "never_sent": count - len(outcomes),
        "delivered": len(delivered),
        "lost": len(lost),
        "lost_tokens": lost[:50],
        "lost_tokens_all": lost,
        "duplicated": len(duplicated),
        "duplicated_tokens": duplicated[:50],
        "extra_copies": sum(len(seen[t]) - 1 for t in duplicated),
        # a copy the sender itself caused: it sent the message again after a DATA left unanswered
        "duplicated_after_unanswered_data": sum(
            1 for t in duplicated if t in accepted and accepted[t].unanswered_data > 0),
        "delivered_without_250": len(unacknowledged),
        "temporary_failures": stats.temporary_failures,
        "temporary_failures_by_kind": stats.failures_by_kind,
        "smtp_connections": stats.connections,
        "send_seconds": round(stats.finished_at - started, 2),
        "drain_seconds": round(drained_at - stats.finished_at, 2),
        "accepted_per_second": rate(accept_times),
        "delivered_per_second": rate(visible_times),
        "latency_seconds": {
            "p50": _round(percentile(latencies, 50)), "p95": _round(percentile(latencies, 95)),
            "p99": _round(percentile(latencies, 99)), "max": _round(latencies[-1] if latencies else None),
            "resolution": poll_interval,
        },
        "resources": sampler.summary(),
        "machine_cpu_busy_percent": round(100 * busy / total, 1) if total else None,
        "watch_errors": deliveries.errors,
        # the longest time without a new 250, and without a new delivery, while each was going on
        "longest_accept_stall_seconds": _longest_gap(accept_times),
        "longest_delivery_stall_seconds": _longest_gap(visible_times),
        # raw series for the charts (seconds since the run started)
        "series": {
            "accepted_at": [round(t - started, 3) for t in accept_times],
            "visible_at": [round(t - started, 3) for t in visible_times],
            "latencies": [round(v, 3) for v in latencies],
        },
    }
    cpu = sum(r["cpu_seconds"] for name, r in result["resources"].items() if name != HARNESS)
    result["cpu_seconds_per_1000_delivered"] = round(1000 * cpu / len(delivered), 2) if delivered else None
    # CPU the machine spent on anything else (another user's build, say): how quiet the run was
    measured = cpu + result["resources"].get(HARNESS, {}).get("cpu_seconds", 0)
    result["other_processes_cpu_seconds"] = round(max(0.0, busy - measured), 1)
    return result


def _reason(error):
    """A category for a message that never got its 250: "RCPT 550", "retries exhausted", ..."""
    if error.startswith("gave up"):
        return "retries exhausted"
    if "deadline" in error:
        return "deadline"
    return " ".join(error.split(" ")[:2])   # stage and code of a 5xx


def _longest_gap(times):
    ordered = sorted(times)
    return _round(max((b - a for a, b in zip(ordered, ordered[1:])), default=None))


def _round(value):
    return None if value is None else round(value, 3)
