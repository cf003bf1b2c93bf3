package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * The chart's dashboard and alert rules against a real Prometheus (Debian's, started by
 * {@code ./mailcluster start prometheus} as {@code up --monitoring} does) scraping the real
 * nodes: every node is a target that answers; after traffic every panel's expression and every
 * series an alert reads returns data; stopping the mailbox tier sets off "node down" and
 * "queue growing", and they go once it is back and has delivered.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MonitoringTest {
    static final Path MONITORING = LocalCluster.locate().root().resolve("helm/mailcluster/files/monitoring");
    /** Scrapes and rule evaluations run every 5 s locally: data and alert states follow within seconds. */
    static final Duration PATIENCE = Duration.ofSeconds(90);

    LocalCluster launcher;
    ClusterEndpoints cluster;
    URI prometheus;
    final HttpClient http = HttpClient.newHttpClient();
    final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    void start(LocalCluster launcher, ClusterEndpoints cluster) {
        this.launcher = launcher;
        this.cluster = cluster;
        LocalCluster.Result started = launcher.run(Duration.ofMinutes(10), "start", "prometheus");
        assertThat(started.succeeded()).as("./mailcluster start prometheus:\n" + started.output()).isTrue();
        prometheus = URI.create(cluster.get("MAILCLUSTER_PROMETHEUS"));
    }

    @AfterAll
    void stop() {
        launcher.run(Duration.ofMinutes(1), "stop", "prometheus");
    }

    JsonNode api(String pathAndQuery) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(prometheus.resolve(pathAndQuery)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(pathAndQuery + ": " + response.body()).isEqualTo(200);
        return json.readTree(response.body());
    }

    JsonNode query(String expression) throws Exception {
        JsonNode answer = api("/api/v1/query?query=" + URLEncoder.encode(expression, StandardCharsets.UTF_8));
        assertThat(answer.path("status").asText()).as(expression + ": " + answer).isEqualTo("success");
        return answer.path("data").path("result");
    }

    /** Polls until {@code done} holds for what {@code read} gives, or fails after {@link #PATIENCE} with the last answer. */
    <T> T await(String what, ThrowingSupplier<T> read, Predicate<T> done) throws Exception {
        T last = null;
        for (long end = System.nanoTime() + PATIENCE.toNanos(); System.nanoTime() < end; Thread.sleep(2000)) {
            last = read.get();
            if (done.test(last)) {
                return last;
            }
        }
        throw new AssertionError(what + " not within " + PATIENCE + "; last seen: " + last);
    }

    interface ThrowingSupplier<T> {
        T get() throws Exception;
    }

    @Test
    void everyNodeIsATargetThatAnswersWithItsTierAndName() throws Exception {
        Set<String> nodes = cluster.nodes().keySet();
        JsonNode targets = await("every node scraped", () -> api("/api/v1/targets?state=active").path("data").path("activeTargets"),
            active -> {
                Set<String> up = new LinkedHashSet<>();
                active.forEach(t -> {
                    if (t.path("health").asText().equals("up")) {
                        up.add(t.path("labels").path("node").asText());
                    }
                });
                return up.equals(nodes);
            });
        for (JsonNode target : targets) {
            String node = target.path("labels").path("node").asText();
            assertThat(target.path("labels").path("tier").asText()).as(node).isEqualTo(node.replaceAll("[0-9]+$", ""));
            assertThat(target.path("scrapeUrl").asText()).isEqualTo("http://" + cluster.nodes().get(node) + ":8000/metrics");
        }
    }

    @Test
    void afterTrafficEveryPanelAndEverySeriesAnAlertReadsReturnsData() throws Exception {
        TestUser alice = TestUser.create(cluster, "watched");
        String subject = "monitored " + UUID.randomUUID();
        for (var mx : cluster.mx()) {
            assertThat(Smtp.send(mx, "sender@outside.test", alice.address(),
                MailFlowTest.message("sender@outside.test", alice.address(), subject, "a clean message"))).isEqualTo(250);
        }
        // delivered and read over IMAP: the mailbox tier's counters
        alice.inbox(cluster).awaitMessages(all -> all.stream().filter(m -> m.contains(subject)).count() == cluster.mx().size(),
            MailFlowTest.DELIVERY);
        // and a JMAP client's requests: the mailbox tier's JMAP panel
        assertThat(Jmap.session(cluster.jmap(), Jmap.basic(alice.address(), alice.password())).statusCode()).isEqualTo(200);

        Map<String, String> expressions = new LinkedHashMap<>();
        JsonNode dashboard = json.readTree(MONITORING.resolve("dashboard.json").toFile());
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                expressions.put(target.path("expr").asText(), "panel \"" + panel.path("title").asText() + "\"");
            }
        }
        JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(MONITORING.resolve("alerts.yaml").toFile());
        for (JsonNode rule : rules.path("groups").findValues("rules").get(0)) {
            for (String selector : selectors(rule.path("expr").asText())) {
                expressions.put("count(" + selector + ")", "alert " + rule.path("alert").asText());
            }
        }
        assertThat(expressions.values()).anyMatch(what -> what.startsWith("alert MailclusterScannerFailing"));

        List<String> empty = new ArrayList<>(expressions.keySet());
        for (long end = System.nanoTime() + PATIENCE.toNanos(); !empty.isEmpty() && System.nanoTime() < end; Thread.sleep(3000)) {
            List<String> still = new ArrayList<>();
            for (String expression : empty) {
                if (query(expression).isEmpty()) {
                    still.add(expression);
                }
            }
            empty = still;
        }
        List<String> report = empty.stream().map(e -> expressions.get(e) + ": " + e).toList();
        assertThat(report).as("expressions that return nothing after traffic").isEmpty();
    }

    static final Set<String> PROMQL_WORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
        "and", "or", "unless", "bool", "offset");

    /** The series selectors of a PromQL expression (metric name and its {matchers}), function and grouping names aside. */
    static List<String> selectors(String expression) {
        String stripped = expression
            .replaceAll("\\b(by|without|on|ignoring)\\s*\\([^)]*\\)", " ")
            .replaceAll("\\[[^\\]]*\\]", " ");
        Matcher token = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?(\\s*\\()?").matcher(stripped);
        List<String> selectors = new ArrayList<>();
        while (token.find()) {
            if (token.group(3) == null && !PROMQL_WORDS.contains(token.group(1))) {
                selectors.add(token.group(1) + (token.group(2) == null ? "" : token.group(2)));
            }
        }
        return selectors;
    }

    @Test
    void theSelectorsOfAnExpressionAreFoundWithoutItsFunctionsAndGroupings() {
        assertThat(selectors("max by (queue) (deriv(mailcluster_queue_messages[5m])) > 0 and max by (queue) (mailcluster_queue_messages) > 0"))
            .containsExactly("mailcluster_queue_messages", "mailcluster_queue_messages");
        assertThat(selectors("sum by (tier, node) (rate(mailcluster_scan_try_later_total[5m]) + rate(mailcluster_scan_error_total[5m])) > 0"))
            .containsExactly("mailcluster_scan_try_later_total", "mailcluster_scan_error_total");
        assertThat(selectors("up{tier!=\"\"} == 0")).containsExactly("up{tier!=\"\"}");
    }

    /**
     * With the mailbox tier's node stopped, mail for it piles up in "delivery": the node-down alert
     * fires (after its minute) and queue growing goes pending (its 10 minutes are promtool's to
     * check, AlertRulesTest). Both are quiet before, and gone once the node is back and delivered.
     */
    @Test
    void stoppingTheMailboxTierSetsOffNodeDownAndQueueGrowing() throws Exception {
        TestUser bob = TestUser.create(cluster, "alerted");
        String before = "before the stop " + UUID.randomUUID();
        assertThat(Smtp.send(cluster.mx().get(0), "sender@outside.test", bob.address(),
            MailFlowTest.message("sender@outside.test", bob.address(), before, "delivered"))).isEqualTo(250);
        bob.inbox(cluster).awaitMessages(all -> all.stream().anyMatch(m -> m.contains(before)), MailFlowTest.DELIVERY);
        await("no alert about mailbox1 or delivery before the stop", this::alerts,
            alerts -> !alerts.contains("MailclusterNodeDown mailbox1") && !alerts.contains("MailclusterQueueGrowing delivery"));

        long stoppedAt = System.nanoTime();
        launcher.scriptMustSucceed(Duration.ofMinutes(2), "launcher/nodes.sh", "stop-one", "mailbox1");
        List<String> subjects = new ArrayList<>();
        try {
            Set<String> seen = new LinkedHashSet<>();
            long firedAfter = -1;
            double oldestWaiting = 0;
            for (long end = System.nanoTime() + Duration.ofSeconds(150).toNanos(); System.nanoTime() < end; Thread.sleep(3000)) {
                String subject = "while the mailbox tier is down " + UUID.randomUUID();
                assertThat(Smtp.send(cluster.mx().get(subjects.size() % cluster.mx().size()), "sender@outside.test", bob.address(),
                    MailFlowTest.message("sender@outside.test", bob.address(), subject, "waits"))).isEqualTo(250);
                subjects.add(subject);
                oldestWaiting = Math.max(oldestWaiting, oldestWaiting("delivery"));
                Set<String> now = alerts();
                seen.addAll(now);
                if (firedAfter < 0 && now.contains("MailclusterNodeDown mailbox1 firing")) {
                    firedAfter = (System.nanoTime() - stoppedAt) / 1_000_000_000;
                }
                if (firedAfter >= 0 && seen.contains("MailclusterQueueGrowing delivery pending")) {
                    break;
                }
            }
            System.out.println("MonitoringTest: MailclusterNodeDown firing " + firedAfter + " s after mailbox1 stopped; alerts seen: " + seen);
            assertThat(seen).as("alerts while mailbox1 is stopped").contains("MailclusterNodeDown mailbox1 firing",
                "MailclusterQueueGrowing delivery pending");
            assertThat(oldestWaiting).as("age of the oldest mail waiting in delivery while nothing reads it (s)").isGreaterThan(30);
        } finally {
            launcher.scriptMustSucceed(Duration.ofMinutes(5), "launcher/nodes.sh", "start-one", "mailbox1");
        }
        bob.inbox(cluster).awaitMessages(all -> subjects.stream().allMatch(s -> all.stream().anyMatch(m -> m.contains(s))),
            Duration.ofSeconds(120));
        await("node down and queue growing gone once mailbox1 delivered", this::alerts,
            alerts -> !alerts.contains("MailclusterNodeDown mailbox1") && !alerts.contains("MailclusterQueueGrowing delivery"));
        await("nothing waiting in delivery once mailbox1 delivered", () -> oldestWaiting("delivery"), age -> age < 10);
    }

    /** mailcluster_queue_oldest_message_age_seconds of a queue as Prometheus has it now (the max over the nodes' reports). */
    double oldestWaiting(String queue) throws Exception {
        JsonNode result = query("max(mailcluster_queue_oldest_message_age_seconds{queue=\"" + queue + "\"})");
        return result.isEmpty() ? -1 : result.get(0).path("value").get(1).asDouble();
    }

    /** Active alerts as "NAME SUBJECT" and "NAME SUBJECT STATE" (SUBJECT: the node or queue label). */
    Set<String> alerts() throws Exception {
        Set<String> alerts = new LinkedHashSet<>();
        for (JsonNode alert : api("/api/v1/alerts").path("data").path("alerts")) {
            JsonNode labels = alert.path("labels");
            String subject = labels.hasNonNull("queue") ? labels.path("queue").asText() : labels.path("node").asText();
            String name = labels.path("alertname").asText() + " " + subject;
            alerts.add(name);
            alerts.add(name + " " + alert.path("state").asText());
        }
        return alerts;
    }
}
