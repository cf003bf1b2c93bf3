package org.mailcluster.cluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;

/**
 * The search index benchmark ({@code ./mailcluster bench-search [MESSAGES]}), not a test: it
 * reports, it asserts nothing. Against the running local cluster it
 * <ol>
 *   <li>appends MESSAGES corpus messages (default 10,000) to a new user's INBOX over 4 IMAP
 *       connections, and measures how fast they become findable (event-driven indexing);</li>
 *   <li>runs the webadmin reindex task for that user (indexing straight from Cassandra);</li>
 *   <li>times 400 IMAP SEARCH commands of 8 kinds, one at a time: p50/p99 per kind and overall.</li>
 * </ol>
 * Figures go to docs/benchmarks/search-index.{json,md} and stdout.
 */
public final class SearchIndexBenchmark {
    private static final int CONNECTIONS = 4;
    private static final Duration INDEXING_DEADLINE = Duration.ofMinutes(30);
    private static final String[] QUERIES = {
        "FROM alice", "SUBJECT \"meeting agenda\"", "BODY zebra", "TEXT kestrel",
        "SINCE 1-Mar-2024 BEFORE 1-Apr-2024", "FLAGGED UNSEEN", "OR FROM bob KEYWORD $Important",
        "HEADER X-Mailer Thunderbird LARGER 3000"};
    private static final int QUERY_ROUNDS = 50;

    private SearchIndexBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int messages = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        LocalCluster launcher = LocalCluster.locate();
        ClusterEndpoints cluster = launcher.endpoints();
        TestUser user = TestUser.create(cluster, "bench-search");
        System.out.printf(Locale.ROOT, "search benchmark: %d messages for %s%n", messages, user.address());

        // 1. Append and wait until everything is findable.
        List<SearchCorpus.Mail> corpus = SearchCorpus.generate(messages, 42L);
        Instant appendStart = Instant.now();
        ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS);
        List<Future<?>> appenders = new ArrayList<>();
        for (int c = 0; c < CONNECTIONS; c++) {
            int slice = c;
            appenders.add(pool.submit(() -> {
                try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), user.address(), user.password())) {
                    for (int i = slice; i < corpus.size(); i += CONNECTIONS) {
                        SearchCorpus.Mail mail = corpus.get(i);
                        imap.append(mail.content(), mail.internalDate(), mail.flags());
                    }
                }
                return null;
            }));
        }
        for (Future<?> appender : appenders) {
            appender.get();
        }
        pool.shutdown();
        Duration appendTime = Duration.between(appendStart, Instant.now());
        System.out.printf(Locale.ROOT, "appended in %.1f s (%.0f msg/s)%n", seconds(appendTime), messages / seconds(appendTime));

        Duration indexedTime;
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), user.address(), user.password())) {
            long deadline = System.nanoTime() + INDEXING_DEADLINE.toNanos();
            while (imap.uidSearch("ALL").size() < messages && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            indexedTime = Duration.between(appendStart, Instant.now());
            int indexed = imap.uidSearch("ALL").size();
            System.out.printf(Locale.ROOT, "findable: %d of %d after %.1f s (%.0f msg/s end to end)%n",
                indexed, messages, seconds(indexedTime), indexed / seconds(indexedTime));

            // 2. Reindex from Cassandra: the index's own write rate, without IMAP in front.
            WebAdmin webAdmin = new WebAdmin(cluster);
            String submitted = webAdmin.send("POST", "/users/" + user.address() + "/mailboxes?task=reIndex", null).body();
            String taskId = match(submitted, "\"taskId\":\"([^\"]+)\"");
            Instant reindexStart = Instant.now();
            String task = webAdmin.get("/tasks/" + taskId);
            long reindexDeadline = System.nanoTime() + INDEXING_DEADLINE.toNanos();
            while (!task.contains("\"status\":\"completed\"") && !task.contains("\"status\":\"failed\"")
                    && System.nanoTime() < reindexDeadline) {
                Thread.sleep(1000);
                task = webAdmin.get("/tasks/" + taskId);
            }
            Duration reindexTime = Duration.between(reindexStart, Instant.now());
            long reindexed = Long.parseLong(match(task, "\"successfullyReprocessedMailCount\":(\\d+)"));
            System.out.printf(Locale.ROOT, "reindex task: %d messages in %.1f s (%.0f msg/s)%n",
                reindexed, seconds(reindexTime), reindexed / seconds(reindexTime));

            // 3. Query latency, one query at a time as an IMAP client sends them.
            List<Double> all = new ArrayList<>();
            StringBuilder perKind = new StringBuilder();
            StringBuilder perKindJson = new StringBuilder();
            for (String query : QUERIES) {
                List<Double> latencies = new ArrayList<>();
                int hits = 0;
                for (int round = 0; round < QUERY_ROUNDS; round++) {
                    long start = System.nanoTime();
                    hits = imap.uidSearch(query).size();
                    latencies.add((System.nanoTime() - start) / 1e6);
                }
                all.addAll(latencies);
                perKind.append(String.format(Locale.ROOT, "| `%s` | %d | %.1f | %.1f |%n",
                    query, hits, percentile(latencies, 50), percentile(latencies, 99)));
                perKindJson.append(String.format(Locale.ROOT, "%s    {\"query\": \"%s\", \"hits\": %d, \"p50_ms\": %.1f, \"p99_ms\": %.1f}",
                    perKindJson.length() == 0 ? "" : ",\n", query.replace("\"", "\\\""), hits,
                    percentile(latencies, 50), percentile(latencies, 99)));
            }
            System.out.printf(Locale.ROOT, "IMAP SEARCH latency over %d queries: p50 %.1f ms, p99 %.1f ms%n",
                all.size(), percentile(all, 50), percentile(all, 99));

            report(launcher, messages, indexed, appendTime, indexedTime, reindexed, reindexTime, all, perKind.toString(), perKindJson.toString());
        }
    }

    private static void report(LocalCluster launcher, int messages, int indexed, Duration appendTime, Duration indexedTime,
                               long reindexed, Duration reindexTime, List<Double> all, String perKind, String perKindJson) throws Exception {
        Path dir = launcher.root().resolve("docs/benchmarks");
        Files.createDirectories(dir);
        String machine = String.format(Locale.ROOT, "%d cores, %s", Runtime.getRuntime().availableProcessors(),
            Files.readAllLines(Path.of("/proc/meminfo")).get(0).replaceAll("\\s+", " "));
        Files.writeString(dir.resolve("search-index.json"), String.format(Locale.ROOT,
            "{%n  \"date\": \"%s\",%n  \"machine\": \"%s\",%n  \"messages\": %d,%n  \"findable\": %d,%n"
                + "  \"append_seconds\": %.1f,%n  \"append_msgs_per_s\": %.0f,%n"
                + "  \"findable_seconds\": %.1f,%n  \"indexing_msgs_per_s_end_to_end\": %.0f,%n"
                + "  \"reindex_messages\": %d,%n  \"reindex_seconds\": %.1f,%n  \"reindex_msgs_per_s\": %.0f,%n"
                + "  \"search_p50_ms\": %.1f,%n  \"search_p99_ms\": %.1f,%n  \"queries\": [%n%s%n  ]%n}%n",
            Instant.now(), machine, messages, indexed, seconds(appendTime), messages / seconds(appendTime),
            seconds(indexedTime), indexed / seconds(indexedTime), reindexed, seconds(reindexTime),
            reindexed / seconds(reindexTime), percentile(all, 50), percentile(all, 99), perKindJson));
        Files.writeString(dir.resolve("search-index.md"), String.format(Locale.ROOT,
            "# Search index benchmark%n%nRun with `./mailcluster bench-search %d` on %s (%s), one mailbox node, "
                + "OpenSearch 2.19 single node, everything on this one machine.%n%n"
                + "| measure | value |%n|---|---|%n"
                + "| messages appended over IMAP (4 connections) | %d in %.1f s (%.0f msg/s) |%n"
                + "| all findable by SEARCH (event-driven indexing, end to end) | %d after %.1f s (%.0f msg/s) |%n"
                + "| webadmin reindex task (Cassandra to OpenSearch) | %d in %.1f s (%.0f msg/s) |%n"
                + "| IMAP SEARCH latency, %d queries | p50 %.1f ms, p99 %.1f ms |%n%n"
                + "Per query (%d rounds each, in a mailbox of %d messages):%n%n"
                + "| query | hits | p50 ms | p99 ms |%n|---|---|---|---|%n%s",
            messages, Instant.now(), machine, messages, seconds(appendTime), messages / seconds(appendTime),
            indexed, seconds(indexedTime), indexed / seconds(indexedTime), reindexed, seconds(reindexTime),
            reindexed / seconds(reindexTime), all.size(), percentile(all, 50), percentile(all, 99),
            QUERY_ROUNDS, messages, perKind));
        System.out.println("written: " + dir.resolve("search-index.md") + " and search-index.json");
    }

    private static String match(String text, String regex) {
        Matcher matcher = Pattern.compile(regex).matcher(text);
        if (!matcher.find()) {
            throw new IllegalStateException(regex + " not found in " + text);
        }
        return matcher.group(1);
    }

    private static double seconds(Duration duration) {
        return duration.toMillis() / 1000.0;
    }

    private static double percentile(List<Double> values, int percentile) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int index = (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(index, sorted.size() - 1)));
    }
}
