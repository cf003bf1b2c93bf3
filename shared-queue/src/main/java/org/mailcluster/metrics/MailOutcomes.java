package org.mailcluster.metrics;

import java.util.ArrayList;
import java.util.List;

import javax.inject.Singleton;

import io.prometheus.client.Collector.MetricFamilySamples;
import io.prometheus.client.Counter;

/**
 * What became of the mail a node handled, beyond "accepted" and "delivered" (James's
 * {@code enqueuedMail:*}, {@code localDeliveredMails}, {@code outgoingMails}), on {@code /metrics}:
 *
 * <ul>
 *   <li>{@code mailcluster_mail_deferred_total{queue}}: put back in a queue to be tried again
 *       after a delay (a remote MX's 4xx, a backend failing for a moment): counted where every
 *       such retry goes through, {@link org.mailcluster.queue.DelayedRetryQueue};</li>
 *   <li>{@code mailcluster_mail_bounced_total{reason}}: returned to the sender with a delivery
 *       status notification ({@code CountMail} before each bounce);</li>
 *   <li>{@code mailcluster_mail_failed_total{processor}}: put in an error repository, where only
 *       an operator moves it on (webadmin {@code /mailRepositories}).</li>
 * </ul>
 * Each series a node can have exists from its start at 0 (the labels are known when the queue
 * or the mailet is set up), so alert expressions read series that are there.
 */
@Singleton
public class MailOutcomes {
    private final Counter deferred = Counter.build("mailcluster_mail_deferred",
            "Mail put back in a queue to be tried again after a delay").labelNames("queue").create();
    private final Counter bounced = Counter.build("mailcluster_mail_bounced",
            "Mail returned to its sender with a delivery status notification").labelNames("reason").create();
    private final Counter failed = Counter.build("mailcluster_mail_failed",
            "Mail put in an error repository for an operator").labelNames("processor").create();

    public enum Outcome { BOUNCED, FAILED }

    /** Makes the queue's deferral series exist (at 0). */
    public void knowQueue(String queue) {
        deferred.labels(queue);
    }

    public void deferred(String queue) {
        deferred.labels(queue).inc();
    }

    /** Makes the series exist (at 0). */
    public void know(Outcome outcome, String label) {
        counter(outcome).labels(label);
    }

    public void count(Outcome outcome, String label) {
        counter(outcome).labels(label).inc();
    }

    private Counter counter(Outcome outcome) {
        return outcome == Outcome.BOUNCED ? bounced : failed;
    }

    public List<MetricFamilySamples> collect() {
        List<MetricFamilySamples> all = new ArrayList<>();
        for (Counter counter : List.of(deferred, bounced, failed)) {
            for (MetricFamilySamples family : counter.collect()) {
                // the client's <name>_created series (when each label set first counted) says nothing here
                all.add(new MetricFamilySamples(family.name, family.type, family.help,
                    family.samples.stream().filter(sample -> !sample.name.endsWith("_created")).toList()));
            }
        }
        return all;
    }
}
