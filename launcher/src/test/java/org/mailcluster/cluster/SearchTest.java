package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mailcluster.cluster.SearchTest.Case.of;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.mail.Flags;
import javax.mail.Flags.Flag;

import org.apache.james.mailbox.MessageUid;
import org.apache.james.mailbox.model.SearchQuery;
import org.apache.james.mailbox.model.SearchQuery.AddressType;
import org.apache.james.mailbox.model.SearchQuery.Criterion;
import org.apache.james.mailbox.model.SearchQuery.DateResolution;
import org.apache.james.mailbox.model.SearchQuery.Sort.SortClause;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.ClusterEndpoints;
import org.mailcluster.testing.MailClusterExtension;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * IMAP SEARCH on the OpenSearch index gives, criterion by criterion, exactly the UIDs James's
 * scanning search gives over the same 220 messages; IMAP SORT orders them as the reference
 * sorts them; and searches follow flag changes and expunges.
 *
 * <p>Each case is written twice on purpose: as the IMAP command a client sends, and as the
 * {@link SearchQuery} James's IMAP layer turns it into (mirroring its SearchProcessor), which
 * the reference evaluates.
 */
@ExtendWith(MailClusterExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SearchTest {
    static final int CORPUS_SIZE = 220;
    static final Duration INDEXED_WITHIN = Duration.ofMinutes(2);

    record Case(String imap, Criterion criterion) {
        static Case of(String imap, Criterion criterion) {
            return new Case(imap, criterion);
        }
    }

    ClusterEndpoints cluster;
    TestUser owner;
    ImapFolderSession imap;

    @BeforeAll
    void appendCorpus(ClusterEndpoints cluster) throws Exception {
        this.cluster = cluster;
        owner = TestUser.create(cluster, "search");
        imap = new ImapFolderSession(cluster.imap(), owner.address(), owner.password());
        for (SearchCorpus.Mail mail : SearchCorpus.generate(CORPUS_SIZE, 20261124L)) {
            imap.append(mail.content(), mail.internalDate(), mail.flags());
        }
        awaitSearch("ALL", CORPUS_SIZE);
    }

    @AfterAll
    void close() throws Exception {
        if (imap != null) {
            imap.close();
        }
    }

    static Date day(int year, int month, int day) {
        // As James's IMAP decoder builds search dates: midnight in the server's zone, which is
        // this JVM's on this machine.
        return Date.from(LocalDate.of(year, month, day).atStartOfDay(ZoneId.systemDefault()).toInstant());
    }

    static List<Case> cases() {
        Date march4 = day(2024, 3, 4);
        return List.of(
            of("ALL", SearchQuery.all()),
            of("FROM alice", SearchQuery.address(AddressType.From, "alice")),
            of("FROM stone.example", SearchQuery.address(AddressType.From, "stone.example")),
            of("FROM \"Bob Stone\"", SearchQuery.address(AddressType.From, "Bob Stone")),
            of("FROM NORDIC", SearchQuery.address(AddressType.From, "NORDIC")),
            of("TO carol", SearchQuery.address(AddressType.To, "carol")),
            of("TO partner.example", SearchQuery.address(AddressType.To, "partner.example")),
            of("CC frank", SearchQuery.address(AddressType.Cc, "frank")),
            of("BCC gina", SearchQuery.address(AddressType.Bcc, "gina")),
            of("SUBJECT report", SearchQuery.subject("report")),
            of("SUBJECT \"meeting agenda\"", SearchQuery.subject("meeting agenda")),
            of("SUBJECT number1", SearchQuery.subject("number1")),
            of("SUBJECT \"Re:\"", SearchQuery.subject("Re:")),
            of("BODY zebra", SearchQuery.bodyContains("zebra")),
            of("BODY QUOKKA", SearchQuery.bodyContains("QUOKKA")),
            of("BODY uq17x", SearchQuery.bodyContains("uq17x")),
            of("TEXT kestrel", SearchQuery.mailContains("kestrel")),
            of("TEXT agenda", SearchQuery.mailContains("agenda")),
            of("HEADER X-Mailer Thunderbird", SearchQuery.headerContains("X-Mailer", "Thunderbird")),
            of("HEADER Message-ID corpus.42@", SearchQuery.headerContains("Message-ID", "corpus.42@")),
            of("HEADER List-Id \"\"", SearchQuery.headerExists("List-Id")),
            of("BEFORE 4-Mar-2024", SearchQuery.internalDateBefore(march4, DateResolution.Day)),
            of("ON 4-Mar-2024", SearchQuery.internalDateOn(march4, DateResolution.Day)),
            of("SINCE 4-Mar-2024", SearchQuery.or(SearchQuery.internalDateOn(march4, DateResolution.Day),
                SearchQuery.internalDateAfter(march4, DateResolution.Day))),
            of("SENTBEFORE 4-Mar-2024", SearchQuery.headerDateBefore("Date", march4, DateResolution.Day)),
            of("SENTON 4-Mar-2024", SearchQuery.headerDateOn("Date", march4, DateResolution.Day)),
            of("SENTSINCE 4-Mar-2024", SearchQuery.or(SearchQuery.headerDateOn("Date", march4, DateResolution.Day),
                SearchQuery.headerDateAfter("Date", march4, DateResolution.Day))),
            of("LARGER 5000", SearchQuery.sizeGreaterThan(5000)),
            of("SMALLER 1200", SearchQuery.sizeLessThan(1200)),
            of("SEEN", SearchQuery.flagIsSet(Flag.SEEN)),
            of("UNSEEN", SearchQuery.flagIsUnSet(Flag.SEEN)),
            of("FLAGGED", SearchQuery.flagIsSet(Flag.FLAGGED)),
            of("UNFLAGGED", SearchQuery.flagIsUnSet(Flag.FLAGGED)),
            of("ANSWERED", SearchQuery.flagIsSet(Flag.ANSWERED)),
            of("UNANSWERED", SearchQuery.flagIsUnSet(Flag.ANSWERED)),
            of("DELETED", SearchQuery.flagIsSet(Flag.DELETED)),
            of("UNDELETED", SearchQuery.flagIsUnSet(Flag.DELETED)),
            of("DRAFT", SearchQuery.flagIsSet(Flag.DRAFT)),
            of("UNDRAFT", SearchQuery.flagIsUnSet(Flag.DRAFT)),
            of("KEYWORD $Important", SearchQuery.flagIsSet("$Important")),
            of("UNKEYWORD project-x", SearchQuery.flagIsUnSet("project-x")),
            of("UID 1:50", SearchQuery.uid(new SearchQuery.UidRange[] {
                new SearchQuery.UidRange(MessageUid.of(1), MessageUid.of(50))})),
            of("UID 7,30:40,200:*", SearchQuery.uid(new SearchQuery.UidRange[] {
                new SearchQuery.UidRange(MessageUid.of(7)),
                new SearchQuery.UidRange(MessageUid.of(30), MessageUid.of(40)),
                new SearchQuery.UidRange(MessageUid.of(200), MessageUid.MAX_VALUE)})),
            of("OR FROM alice SUBJECT invoice", SearchQuery.or(SearchQuery.address(AddressType.From, "alice"),
                SearchQuery.subject("invoice"))),
            of("NOT SEEN", SearchQuery.not(SearchQuery.flagIsSet(Flag.SEEN))),
            of("FLAGGED FROM bob BODY marble", SearchQuery.and(List.of(SearchQuery.flagIsSet(Flag.FLAGGED),
                SearchQuery.address(AddressType.From, "bob"), SearchQuery.bodyContains("marble")))),
            of("NOT (OR SEEN FLAGGED)", SearchQuery.not(SearchQuery.or(SearchQuery.flagIsSet(Flag.SEEN),
                SearchQuery.flagIsSet(Flag.FLAGGED)))),
            of("OR BODY fjord NOT TEXT gazebo", SearchQuery.or(SearchQuery.bodyContains("fjord"),
                SearchQuery.not(SearchQuery.mailContains("gazebo")))));
    }

    @Test
    @Order(1)
    void everyCriterionReturnsTheUidsTheReferenceSearchReturns() throws Exception {
        assertSameAsReference(cases());
    }

    @Test
    @Order(2)
    void encodedNonAsciiHeadersAreFoundByTheirDecodedText() throws Exception {
        // Sent as UTF-8 literals (CHARSET UTF-8), matched against RFC 2047 encoded words.
        ReferenceSearch reference = new ReferenceSearch(imap.fetchAll());
        for (String[] search : new String[][] {{"SUBJECT", "Café"}, {"SUBJECT", "été planning"}, {"FROM", "Chloé"}}) {
            Criterion criterion = search[0].equals("FROM")
                ? SearchQuery.address(AddressType.From, search[1])
                : SearchQuery.subject(search[1]);
            List<Long> expected = reference.search(SearchQuery.of(criterion));
            assertThat(expected).as("reference for " + search[0] + " " + search[1]).isNotEmpty();
            assertThat(imap.uidSearchUtf8(search[0], search[1])).as(search[0] + " " + search[1])
                .containsExactlyElementsOf(new TreeSet<>(expected));
        }
    }

    @Test
    @Order(3)
    void sortOrdersAsTheReferenceDoes() throws Exception {
        ReferenceSearch reference = new ReferenceSearch(imap.fetchAll());
        Object[][] sorts = {
            {"(REVERSE DATE) UTF-8 ALL", SearchQuery.all(), List.of(sort(SortClause.SentDate, true))},
            {"(FROM SIZE) UTF-8 UNSEEN", SearchQuery.flagIsUnSet(Flag.SEEN),
                List.of(sort(SortClause.MailboxFrom, false), sort(SortClause.Size, false))},
            {"(ARRIVAL) UTF-8 SINCE 1-Mar-2024", SearchQuery.or(
                SearchQuery.internalDateOn(day(2024, 3, 1), DateResolution.Day),
                SearchQuery.internalDateAfter(day(2024, 3, 1), DateResolution.Day)),
                List.of(sort(SortClause.Arrival, false))},
            {"(REVERSE SIZE TO) US-ASCII BODY zebra", SearchQuery.bodyContains("zebra"),
                List.of(sort(SortClause.Size, true), sort(SortClause.MailboxTo, false))},
            {"(CC REVERSE ARRIVAL) UTF-8 ALL", SearchQuery.all(),
                List.of(sort(SortClause.MailboxCc, false), sort(SortClause.Arrival, true))}};
        List<String> mismatches = new ArrayList<>();
        for (Object[] sortCase : sorts) {
            @SuppressWarnings("unchecked")
            List<SearchQuery.Sort> order = (List<SearchQuery.Sort>) sortCase[2];
            List<Long> expected = reference.search(SearchQuery.builder()
                .andCriteria((Criterion) sortCase[1]).sorts(order).build());
            List<Long> actual = imap.uidSort((String) sortCase[0]);
            if (!expected.equals(actual)) {
                mismatches.add("SORT " + sortCase[0] + ": expected " + expected + " but the cluster answered " + actual);
            }
            assertThat(expected).as("reference for SORT " + sortCase[0]).hasSizeGreaterThan(10);
        }
        assertThat(mismatches).as("SORT orders that differ from the reference").isEmpty();

        // SUBJECT: RFC 5256 sorts on the decoded base subject. The reference sorts on the raw
        // header, where every encoded subject starts with "=?UTF-8?": so it is compared on the
        // plain subjects only, and the encoded ones are checked where their decoded text puts
        // them: "Café menu" before every other subject, "Été planning" after (É after Z).
        List<Long> bySubject = imap.uidSort("(SUBJECT) UTF-8 ALL");
        List<Long> cafe = reference.search(SearchQuery.of(SearchQuery.subject("Café")));
        List<Long> ete = reference.search(SearchQuery.of(SearchQuery.subject("Été")));
        assertThat(cafe).isNotEmpty();
        assertThat(ete).isNotEmpty();
        List<Long> plain = reference.search(SearchQuery.builder()
            .andCriteria(SearchQuery.not(SearchQuery.or(SearchQuery.subject("Café"), SearchQuery.subject("Été"))))
            .sorts(List.of(sort(SortClause.BaseSubject, false))).build());
        assertThat(bySubject).hasSize(CORPUS_SIZE);
        assertThat(bySubject.subList(0, cafe.size())).as("'Café menu' first").containsExactlyInAnyOrderElementsOf(cafe);
        assertThat(bySubject.subList(cafe.size(), CORPUS_SIZE - ete.size())).as("plain subjects, as the reference sorts them")
            .containsExactlyElementsOf(plain);
        assertThat(bySubject.subList(CORPUS_SIZE - ete.size(), CORPUS_SIZE)).as("'Été planning' last")
            .containsExactlyInAnyOrderElementsOf(ete);
    }

    static SearchQuery.Sort sort(SortClause clause, boolean reverse) {
        return new SearchQuery.Sort(clause, reverse ? SearchQuery.Sort.Order.REVERSE : SearchQuery.Sort.Order.NATURAL);
    }

    /**
     * JMAP {@code Email/query}: each filter and sort, translated by James's JMAP into the same
     * search the index answers, returns the emails the reference returns, in its order. JMAP
     * always leaves out \Deleted messages, so the reference does too.
     */
    @Test
    @Order(4)
    void jmapEmailQueryFiltersAndSortsAsTheReferenceDoes() throws Exception {
        List<ImapFolderSession.Fetched> corpus = imap.fetchAll();
        ReferenceSearch reference = new ReferenceSearch(corpus);
        Map<String, Long> uidByMessageId = new HashMap<>();
        for (ImapFolderSession.Fetched fetched : corpus) {
            Matcher id = Pattern.compile("Message-ID: <([^>]+)>").matcher(new String(fetched.content(), StandardCharsets.ISO_8859_1));
            assertThat(id.find()).isTrue();
            uidByMessageId.put(id.group(1), fetched.uid());
        }
        Jmap jmap = Jmap.login(cluster.jmap(), owner.address(), owner.password());
        String inbox = jmap.mailboxId("inbox");
        Object[][] queries = {
            {"{\"from\":\"alice\"}", SearchQuery.address(AddressType.From, "alice"), null, List.of()},
            {"{\"to\":\"partner.example\"}", SearchQuery.address(AddressType.To, "partner.example"), null, List.of()},
            {"{\"cc\":\"frank\"}", SearchQuery.address(AddressType.Cc, "frank"), null, List.of()},
            {"{\"bcc\":\"gina\"}", SearchQuery.address(AddressType.Bcc, "gina"), null, List.of()},
            {"{\"subject\":\"meeting agenda\"}", SearchQuery.subject("meeting agenda"), null, List.of()},
            {"{\"text\":\"kestrel\"}", SearchQuery.or(List.of(SearchQuery.address(AddressType.To, "kestrel"),
                SearchQuery.address(AddressType.Cc, "kestrel"), SearchQuery.address(AddressType.Bcc, "kestrel"),
                SearchQuery.address(AddressType.From, "kestrel"), SearchQuery.subject("kestrel"),
                SearchQuery.bodyContains("kestrel"))), null, List.of()},
            {"{\"header\":[\"X-Mailer\",\"Thunderbird\"]}", SearchQuery.headerContains("X-Mailer", "Thunderbird"), null, List.of()},
            {"{\"header\":[\"List-Id\"]}", SearchQuery.headerExists("List-Id"), null, List.of()},
            {"{\"hasKeyword\":\"$flagged\"}", SearchQuery.flagIsSet(Flag.FLAGGED), null, List.of()},
            {"{\"notKeyword\":\"$seen\"}", SearchQuery.flagIsUnSet(Flag.SEEN), null, List.of()},
            {"{\"minSize\":5000}", SearchQuery.or(SearchQuery.sizeGreaterThan(5000), SearchQuery.sizeEquals(5000)), null, List.of()},
            {"{\"maxSize\":1200}", SearchQuery.sizeLessThan(1200), null, List.of()},
            {"{\"operator\":\"OR\",\"conditions\":[{\"from\":\"alice\"},{\"subject\":\"invoice\"}]}",
                SearchQuery.or(SearchQuery.address(AddressType.From, "alice"), SearchQuery.subject("invoice")), null, List.of()},
            {"{\"operator\":\"NOT\",\"conditions\":[{\"hasKeyword\":\"$seen\"},{\"hasKeyword\":\"$flagged\"}]}",
                SearchQuery.not(SearchQuery.or(SearchQuery.flagIsSet(Flag.SEEN), SearchQuery.flagIsSet(Flag.FLAGGED))), null, List.of()},
            {null, SearchQuery.all(), "[{\"property\":\"receivedAt\",\"isAscending\":false}]",
                List.of(sort(SortClause.Arrival, true))},
            {"{\"notKeyword\":\"$seen\"}", SearchQuery.flagIsUnSet(Flag.SEEN),
                "[{\"property\":\"from\"},{\"property\":\"size\",\"isAscending\":false}]",
                List.of(sort(SortClause.MailboxFrom, false), sort(SortClause.Size, true))},
            {"{\"text\":\"zebra\"}", SearchQuery.or(List.of(SearchQuery.address(AddressType.To, "zebra"),
                SearchQuery.address(AddressType.Cc, "zebra"), SearchQuery.address(AddressType.Bcc, "zebra"),
                SearchQuery.address(AddressType.From, "zebra"), SearchQuery.subject("zebra"), SearchQuery.bodyContains("zebra"))),
                "[{\"property\":\"sentAt\"}]", List.of(sort(SortClause.SentDate, false))},
            {"{\"minSize\":2000}", SearchQuery.or(SearchQuery.sizeGreaterThan(2000), SearchQuery.sizeEquals(2000)),
                "[{\"property\":\"to\",\"isAscending\":false},{\"property\":\"receivedAt\"}]",
                List.of(sort(SortClause.MailboxTo, true), sort(SortClause.Arrival, false))}};
        List<String> mismatches = new ArrayList<>();
        for (Object[] query : queries) {
            @SuppressWarnings("unchecked")
            List<SearchQuery.Sort> order = (List<SearchQuery.Sort>) query[3];
            SearchQuery.Builder expectedQuery = SearchQuery.builder()
                .andCriteria((Criterion) query[1], SearchQuery.flagIsUnSet(Flag.DELETED));
            if (!order.isEmpty()) {
                expectedQuery.sorts(order);
            }
            List<Long> expected = reference.search(expectedQuery.build());
            List<Long> actual = uids(jmap, jmap.query(inbox, (String) query[0], (String) query[2]), uidByMessageId);
            boolean same = order.isEmpty() ? new TreeSet<>(expected).equals(new TreeSet<>(actual)) && expected.size() == actual.size()
                : expected.equals(actual);
            if (!same) {
                mismatches.add("Email/query " + query[0] + " sort " + query[2] + ": expected " + expected.size() + " " + expected
                    + " but JMAP answered " + actual.size() + " " + actual);
            }
            assertThat(expected).as("reference for " + query[0]).isNotEmpty().hasSizeLessThan(CORPUS_SIZE);
        }

        // Dates: James's scanning search reads receivedAt at a resolution of a second in a way
        // that disagreed with the internal dates IMAP reports (one message of 220 was on the
        // wrong side), so the expectation comes straight from those dates; no message is on
        // the boundary, where James's inclusiveness differs from RFC 8621's.
        Instant boundary = Instant.parse("2024-03-04T00:00:00Z");
        List<ImapFolderSession.Fetched> live = corpus.stream()
            .filter(m -> !m.flags().contains(Flag.DELETED)).toList();
        assertThat(live).noneMatch(m -> m.internalDate().toInstant().equals(boundary));
        SortedSet<Long> after = new TreeSet<>(live.stream().filter(m -> m.internalDate().toInstant().isAfter(boundary))
            .map(ImapFolderSession.Fetched::uid).toList());
        SortedSet<Long> before = new TreeSet<>(live.stream().filter(m -> m.internalDate().toInstant().isBefore(boundary))
            .map(ImapFolderSession.Fetched::uid).toList());
        assertThat(after).isNotEmpty();
        assertThat(before).isNotEmpty();
        SortedSet<Long> jmapAfter = new TreeSet<>(uids(jmap, jmap.query(inbox, "{\"after\":\"2024-03-04T00:00:00Z\"}", null), uidByMessageId));
        SortedSet<Long> jmapBefore = new TreeSet<>(uids(jmap, jmap.query(inbox, "{\"before\":\"2024-03-04T00:00:00Z\"}", null), uidByMessageId));
        if (!after.equals(jmapAfter)) {
            mismatches.add("Email/query after: expected " + after + " but JMAP answered " + jmapAfter);
        }
        if (!before.equals(jmapBefore)) {
            mismatches.add("Email/query before: expected " + before + " but JMAP answered " + jmapBefore);
        }
        assertThat(mismatches).as("JMAP queries that differ from the reference").isEmpty();
    }

    /** The UIDs of these JMAP emails, in the same order (Email/get answers in any order). */
    private static List<Long> uids(Jmap jmap, List<String> ids, Map<String, Long> uidByMessageId) throws Exception {
        Map<String, Long> uidById = new HashMap<>();
        for (JsonNode email : jmap.get(ids, "id", "messageId")) {
            uidById.put(email.get("id").asText(), uidByMessageId.get(email.get("messageId").get(0).asText()));
        }
        return ids.stream().map(uidById::get).toList();
    }

    @Test
    @Order(5)
    void flagChangesAndExpungesAreReflectedInLaterSearches() throws Exception {
        List<ImapFolderSession.Fetched> before = imap.fetchAll();
        long[] everyThird = before.stream().mapToLong(ImapFolderSession.Fetched::uid).filter(uid -> uid % 3 == 0).toArray();
        long[] everyFifth = before.stream().mapToLong(ImapFolderSession.Fetched::uid).filter(uid -> uid % 5 == 0).toArray();
        imap.setFlags(everyThird, new Flags(Flag.FLAGGED), true);
        imap.setFlags(everyFifth, new Flags(Flag.SEEN), false);
        Flags keyword = new Flags("$Important");
        imap.setFlags(everyFifth, keyword, true);
        long deletedBefore = imap.uidSearch("DELETED").size();
        assertThat(deletedBefore).as("corpus has \\Deleted messages to expunge").isPositive();
        imap.expunge();

        List<Case> affected = List.of(
            of("FLAGGED", SearchQuery.flagIsSet(Flag.FLAGGED)),
            of("UNSEEN", SearchQuery.flagIsUnSet(Flag.SEEN)),
            of("KEYWORD $Important", SearchQuery.flagIsSet("$Important")),
            of("DELETED", SearchQuery.flagIsSet(Flag.DELETED)),
            of("ALL", SearchQuery.all()),
            of("BODY zebra", SearchQuery.bodyContains("zebra")));
        long deadline = System.nanoTime() + INDEXED_WITHIN.toNanos();
        List<String> mismatches = mismatches(affected);
        while (!mismatches.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(1000);
            mismatches = mismatches(affected);
        }
        assertThat(mismatches).as("searches after STORE and EXPUNGE").isEmpty();
        assertThat(imap.uidSearch("ALL")).hasSize(CORPUS_SIZE - (int) deletedBefore);
    }

    private void assertSameAsReference(List<Case> cases) throws Exception {
        List<String> mismatches = mismatches(cases);
        assertThat(mismatches).as("criteria whose UIDs differ from the reference").isEmpty();
    }

    private List<String> mismatches(List<Case> cases) throws Exception {
        ReferenceSearch reference = new ReferenceSearch(imap.fetchAll());
        List<String> mismatches = new ArrayList<>();
        int selective = 0;
        for (Case searchCase : cases) {
            SortedSet<Long> expected = new TreeSet<>(reference.search(SearchQuery.of(searchCase.criterion())));
            SortedSet<Long> actual = imap.uidSearch(searchCase.imap());
            if (!expected.equals(actual)) {
                mismatches.add(searchCase.imap() + ": expected " + expected.size() + " " + expected
                    + " but the cluster answered " + actual.size() + " " + actual);
            }
            if (!expected.isEmpty() && expected.size() < CORPUS_SIZE) {
                selective++;
            }
        }
        if (cases.size() > 5) {
            // A comparison is only worth something when the criteria actually select: most
            // must match some messages but not all of them.
            assertThat(selective).as("criteria selecting some but not all messages").isGreaterThan(cases.size() * 3 / 4);
        }
        return mismatches;
    }

    private void awaitSearch(String criteria, int expected) throws Exception {
        long deadline = System.nanoTime() + INDEXED_WITHIN.toNanos();
        int found = imap.uidSearch(criteria).size();
        while (found != expected && System.nanoTime() < deadline) {
            Thread.sleep(1000);
            found = imap.uidSearch(criteria).size();
        }
        assertThat(found).as("messages found by SEARCH " + criteria + " within " + INDEXED_WITHIN).isEqualTo(expected);
    }
}
