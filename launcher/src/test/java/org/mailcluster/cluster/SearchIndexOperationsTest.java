package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.mail.Flags;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * What an operator lives through with the search index: OpenSearch going away (mail keeps
 * flowing, search comes back complete) and an index that lost documents (a webadmin reindex
 * task puts them back). Each test leaves OpenSearch running.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SearchIndexOperationsTest {
    static final Duration STEP = Duration.ofMinutes(5);
    static final Duration FINDABLE_WITHIN = Duration.ofMinutes(4);
    static final String COMPONENT = "OpenSearch mailbox search index";

    LocalCluster launcher;
    ClusterEndpoints cluster;
    WebAdmin webAdmin;

    @BeforeAll
    void setUp(LocalCluster launcher, ClusterEndpoints cluster) {
        this.launcher = launcher;
        this.cluster = cluster;
        this.webAdmin = new WebAdmin(cluster);
    }

    @Test
    void withOpenSearchDownMailIsDeliveredAndReadableAndBecomesFindableWhenItReturns() throws Exception {
        TestUser bob = TestUser.create(cluster, "bob");
        String token = "outage" + UUID.randomUUID().toString().replace("-", "");
        launcher.scriptMustSucceed(STEP, "launcher/services/opensearch.sh", "stop");
        try {
            int code = Smtp.send(cluster.mx().get(0), "sender@outside.test", bob.address(),
                MailFlowTest.message("sender@outside.test", bob.address(), "during the search outage", "look for " + token));
            assertThat(code).as("SMTP reply with OpenSearch down").isEqualTo(250);

            List<String> inbox = bob.inbox(cluster).awaitMessages(messages -> !messages.isEmpty(), Duration.ofMinutes(1));
            assertThat(inbox).as("delivered and readable over IMAP while OpenSearch is down").hasSize(1);
            assertThat(inbox.get(0)).contains(token);

            String health = healthOfMailboxNode();
            assertThat(health).as("/healthcheck with OpenSearch down")
                .contains("\"status\":\"degraded\"")
                .containsPattern("\"componentName\":\"" + COMPONENT + "\"[^}]*\"status\":\"degraded\"");

            try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), bob.address(), bob.password())) {
                assertThatThrownBy(() -> imap.uidSearch("BODY " + token))
                    .as("SEARCH fails loudly rather than answering 'nothing found'")
                    .hasMessageContaining("NO");
            }
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/services/opensearch.sh", "start");
        }

        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), bob.address(), bob.password())) {
            assertThat(awaitFound(imap, "BODY " + token, 1))
                .as("found by SEARCH within " + FINDABLE_WITHIN + " of OpenSearch's return").hasSize(1);
        }
        assertThat(healthOfMailboxNode()).as("/healthcheck once OpenSearch is back")
            .containsPattern("\"componentName\":\"" + COMPONENT + "\"[^}]*\"status\":\"healthy\"");
    }

    @Test
    void aReindexTaskPutsBackWhatTheIndexLost() throws Exception {
        TestUser carol = TestUser.create(cluster, "carol");
        String token = "reindex" + UUID.randomUUID().toString().replace("-", "");
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), carol.address(), carol.password())) {
            assertThat(appendFound(imap, carol, token, 5)).hasSize(5);

            // The index loses this user's documents (an operator's mistake, a lost shard...).
            HttpResponse<String> deleted = openSearch("POST", "/mailcluster-messages-write/_delete_by_query?refresh=true",
                "{\"query\":{\"match\":{\"textBody\":\"" + token + "\"}}}");
            assertThat(deleted.body()).contains("\"deleted\":5");
            assertThat(imap.uidSearch("BODY " + token)).as("search after the loss").isEmpty();

            HttpResponse<String> submitted = webAdmin.send("POST", "/users/" + carol.address() + "/mailboxes?task=reIndex", null);
            assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(201);
            String taskId = field(submitted.body(), "taskId");
            String task = webAdmin.get("/tasks/" + taskId + "/await?timeout=2minutes");
            assertThat(task).as("task " + taskId).contains("\"status\":\"completed\"")
                .contains("\"successfullyReprocessedMailCount\":5")
                .contains("\"failedReprocessedMailCount\":0");
            assertThat(webAdmin.get("/tasks?status=completed")).as("listed under /tasks").contains(taskId);

            assertThat(awaitFound(imap, "BODY " + token, 5)).as("found again after the reindex").hasSize(5);
        }
    }

    /**
     * The index update of a delivered message fails (OpenSearch down) and the mailbox node that
     * kept it is killed before OpenSearch returns: the update was kept in Cassandra, shown in
     * webadmin, and is applied once both are back, without an operator.
     */
    @Test
    void anIndexUpdateKeptByANodeThatDiedIsAppliedWhenOpenSearchReturns() throws Exception {
        TestUser dora = TestUser.create(cluster, "dora");
        String token = "kept" + UUID.randomUUID().toString().replace("-", "");
        launcher.scriptMustSucceed(STEP, "launcher/services/opensearch.sh", "stop");
        boolean nodeKilled = false;
        try {
            assertThat(Smtp.send(cluster.mx().get(0), "sender@outside.test", dora.address(),
                MailFlowTest.message("sender@outside.test", dora.address(), "kept update", "look for " + token))).isEqualTo(250);
            assertThat(dora.inbox(cluster).awaitMessages(messages -> !messages.isEmpty(), Duration.ofMinutes(1)))
                .as("delivered while OpenSearch is down").hasSize(1);
            assertThat(awaitKeptSearchUpdate(Duration.ofMinutes(1)))
                .as("the failed index update is listed in webadmin's event dead letters").isTrue();

            launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "kill", "mailbox1");
            nodeKilled = true;
        } finally {
            launcher.scriptMustSucceed(STEP, "launcher/services/opensearch.sh", "start");
            if (nodeKilled) {
                launcher.scriptMustSucceed(STEP, "launcher/nodes.sh", "start-one", "mailbox1");
            }
        }

        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), dora.address(), dora.password())) {
            assertThat(awaitFound(imap, "BODY " + token, 1))
                .as("found by SEARCH within " + FINDABLE_WITHIN + ", with the node that kept its update killed").hasSize(1);
        }
        assertThat(webAdmin.get("/events/deadLetter/groups")).as("nothing left kept once applied")
            .doesNotContain(SEARCH_GROUP);
    }

    /**
     * The consistency check finds what the index lacks (a document deleted by hand), what it
     * holds stale (flags changed since it was indexed) and what it holds for nothing (a message
     * that no longer exists), repairs each, and says so in its report.
     */
    @Test
    void theConsistencyCheckRepairsAndReportsWhatTheIndexGotWrong() throws Exception {
        TestUser erin = TestUser.create(cluster, "erin");
        String token = "check" + UUID.randomUUID().toString().replace("-", "");
        try (ImapFolderSession imap = new ImapFolderSession(cluster.imap(), erin.address(), erin.password())) {
            java.util.SortedSet<Long> uids = appendFound(imap, erin, token, 3);
            assertThat(uids).hasSize(3);
            String mailboxId = field(openSearch("POST", "/mailcluster-messages-read/_search",
                "{\"query\":{\"match\":{\"textBody\":\"" + token + "\"}},\"size\":1}").body(), "mailboxId");
            long first = uids.first();
            long second = uids.stream().skip(1).findFirst().orElseThrow();

            // What an index loses or gets wrong: a deleted document, a document left at an old
            // modseq (its flags changed since), and a document of a message that does not exist.
            assertThat(new SearchIndexDocuments(cluster).delete(mailboxId, first)).isEqualTo(1);
            assertThat(openSearch("POST", "/mailcluster-messages-write/_update_by_query?refresh=true&routing=" + mailboxId,
                "{\"query\":{\"bool\":{\"filter\":[{\"term\":{\"mailboxId\":\"" + mailboxId + "\"}},{\"term\":{\"uid\":" + second + "}}]}},"
                    + "\"script\":{\"source\":\"ctx._source.modSeq = 0; ctx._source.flags.seen = true\"}}").body())
                .contains("\"updated\":1");
            assertThat(openSearch("PUT", "/mailcluster-messages-write/_doc/" + mailboxId + ":999999?refresh=true&routing=" + mailboxId,
                "{\"mailboxId\":\"" + mailboxId + "\",\"uid\":999999,\"modSeq\":1,\"textBody\":\"" + token + " ghost\"}").statusCode())
                .isEqualTo(201);
            assertThat(imap.uidSearch("BODY " + token)).as("search before the check").doesNotContain(first);
            assertThat(imap.uidSearch("SEEN")).as("the stale document claims \\Seen").contains(second);

            HttpResponse<String> submitted = webAdmin.send("POST", "/search/index/check?user=" + erin.address(), null);
            assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(201);
            String taskId = field(submitted.body(), "taskId");
            String report = webAdmin.get("/tasks/" + taskId + "/await?timeout=2minutes");
            assertThat(report).as("task " + taskId).contains("\"status\":\"completed\"")
                .contains("\"type\":\"search-index-consistency\"")
                .contains("\"missingIndexed\":1")
                .contains("\"staleReindexed\":1")
                .contains("\"orphansRemoved\":1")
                .contains("\"failures\":0")
                .contains(mailboxId + ":" + first + " indexed (missing)")
                .contains(mailboxId + ":999999 removed (expunged)");

            // The repair's writes become visible at OpenSearch's next refresh: wait for the set
            // itself, not its size (which the unrepaired index also has).
            long deadline = System.nanoTime() + FINDABLE_WITHIN.toNanos();
            java.util.SortedSet<Long> found = imap.uidSearch("BODY " + token);
            while (!found.equals(uids) && System.nanoTime() < deadline) {
                Thread.sleep(1000);
                found = imap.uidSearch("BODY " + token);
            }
            assertThat(found).as("found after the repair").containsExactlyElementsOf(uids);
            assertThat(imap.uidSearch("SEEN")).as("flags as the mailbox has them").doesNotContain(second);

            HttpResponse<String> both = webAdmin.send("POST", "/search/index/check?user=" + erin.address() + "&mailbox=" + mailboxId, null);
            assertThat(both.statusCode()).as("user and mailbox together: " + both.body()).isEqualTo(400);
            assertThat(both.body()).contains("mailbox");
            HttpResponse<String> unknown = webAdmin.send("POST", "/search/index/check?user=nobody-" + UUID.randomUUID() + "@" + cluster.domain(), null);
            assertThat(unknown.statusCode()).as(unknown.body()).isEqualTo(404);
        }
    }

    static final String SEARCH_GROUP = "org.mailcluster.mailbox.search.OpenSearchMessageSearchIndex$SearchIndexGroup";

    private boolean awaitKeptSearchUpdate(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (webAdmin.get("/events/deadLetter/groups").contains(SEARCH_GROUP)) {
                return true;
            }
            Thread.sleep(2000);
        }
        return false;
    }

    /** Appends {@code count} messages with {@code token} in their bodies; the UIDs SEARCH then finds. */
    private java.util.SortedSet<Long> appendFound(ImapFolderSession imap, TestUser user, String token, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            String message = MailFlowTest.message("x@outside.test", user.address(), token + " " + i, token + " number " + i);
            imap.append(message.getBytes(java.nio.charset.StandardCharsets.UTF_8), new Date(), new Flags());
        }
        return awaitFound(imap, "BODY " + token, count);
    }

    private java.util.SortedSet<Long> awaitFound(ImapFolderSession imap, String criteria, int expected) throws Exception {
        long deadline = System.nanoTime() + FINDABLE_WITHIN.toNanos();
        java.util.SortedSet<Long> found = java.util.Collections.emptySortedSet();
        while (System.nanoTime() < deadline) {
            try {
                found = imap.uidSearch(criteria);
                if (found.size() == expected) {
                    return found;
                }
            } catch (Exception searchNotBackYet) {
                // OpenSearch still starting: SEARCH answers NO; keep polling.
            }
            Thread.sleep(2000);
        }
        return found;
    }

    private String healthOfMailboxNode() throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(cluster.webadmin().resolve("/healthcheck")).timeout(Duration.ofSeconds(30)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("a degraded search index must not make the node unhealthy: " + response.body())
            .isEqualTo(200);
        return response.body();
    }

    private HttpResponse<String> openSearch(String method, String path, String body) throws Exception {
        return new SearchIndexDocuments(cluster).request(method, path, body);
    }

    private static String field(String json, String name) {
        Matcher matcher = Pattern.compile("\"" + name + "\":\"([^\"]+)\"").matcher(json);
        assertThat(matcher.find()).as(name + " in " + json).isTrue();
        return matcher.group(1);
    }
}
