package org.mailcluster.scanning;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * What the SMTP server does with a scanned message, and the headers an accepted one carries.
 *
 * @param decision what to answer
 * @param reply    the SMTP reply text for a refusal (code and enhanced status included)
 * @param headers  headers to set on an accepted message (replacing any the sender wrote)
 * @param summary  one line for the log
 */
public record ScanVerdict(Decision decision, String reply, Map<String, String> headers, String summary) {

    public enum Decision {
        /** Accept; clean or below the add-header threshold. */
        ACCEPT,
        /** Accept, marked as spam ({@code X-Spam: Yes}): filed in the recipient's Spam folder. */
        ACCEPT_AS_SPAM,
        /** 554 5.7.1: a virus. */
        REFUSE_VIRUS,
        /** 550 5.7.1: spam above the reject threshold. */
        REFUSE_SPAM,
        /** 451 4.7.1: a scanner that must answer did not; the sender tries again later. */
        TRY_LATER
    }

    /** The headers this project writes; a sender's own copies of them are removed first. */
    public static final String SPAM_FLAG = "X-Spam";
    public static final String SPAM_STATUS = "X-Spam-Status";
    public static final String VIRUS_SCANNED = "X-Virus-Scanned";
    /** SPF, DKIM and DMARC results (RFC 8601), as rspamd found them. */
    public static final String AUTHENTICATION_RESULTS = "Authentication-Results";

    /** One scanner's answer: a result, or why there is none. */
    public record Answer<T>(Optional<T> result, Optional<String> unavailable) {
        public static <T> Answer<T> of(T result) {
            return new Answer<>(Optional.of(result), Optional.empty());
        }

        public static <T> Answer<T> unavailable(String why) {
            return new Answer<>(Optional.empty(), Optional.of(why));
        }

        public static <T> Answer<T> notConfigured() {
            return new Answer<>(Optional.empty(), Optional.empty());
        }
    }

    /**
     * The decision, from each scanner's answer (absent: not configured) and whether a missing
     * answer lets the mail through (fail-open) or not (fail-closed, the default).
     *
     * @param virus  clamd: the virus name found (empty optional inside: clean)
     * @param spam   rspamd's result
     */
    public static ScanVerdict decide(Answer<Optional<String>> virus, boolean clamdFailOpen,
                                     Answer<RspamdClient.Result> spam, boolean rspamdFailOpen) {
        return decide(virus, clamdFailOpen, spam, rspamdFailOpen, Policy.INBOUND);
    }

    /**
     * Which score refuses a message, and how a refusal reads. Inbound: rspamd's own reject
     * action (its thresholds); outbound: a threshold of the submission tier's, applied to
     * rspamd's score, so that users' mail can be held to a stricter limit than the Internet's.
     */
    public record Policy(OptionalDouble rejectFrom, String virusReply, String spamReply) {
        public static final Policy INBOUND = new Policy(OptionalDouble.empty(),
            "554 5.7.1 Message refused: virus %s found", "550 5.7.1 Message refused as spam (score %.1f, refused from %.1f)");

        public static Policy outbound(double rejectFrom) {
            return new Policy(OptionalDouble.of(rejectFrom),
                "554 5.7.1 Message not sent: it contains a virus (%s)",
                "550 5.7.1 Message not sent: it looks like spam (score %.1f, the limit is %.1f); nothing was sent");
        }

        boolean refuses(RspamdClient.Result result) {
            return rejectFrom.isPresent() ? result.score() >= rejectFrom.getAsDouble() : result.action().equals("reject");
        }

        double limit(RspamdClient.Result result) {
            return rejectFrom.orElse(result.requiredScore());
        }
    }

    public static ScanVerdict decide(Answer<Optional<String>> virus, boolean clamdFailOpen,
                                     Answer<RspamdClient.Result> spam, boolean rspamdFailOpen, Policy policy) {
        Optional<String> found = virus.result().flatMap(name -> name);
        if (found.isPresent()) {
            return new ScanVerdict(Decision.REFUSE_VIRUS, String.format(Locale.ROOT, policy.virusReply(), found.get()),
                Map.of(), "virus " + found.get());
        }
        Optional<RspamdClient.Result> result = spam.result();
        if (result.isPresent() && result.get().symbols().contains("DMARC_POLICY_REJECT") && policy.rejectFrom().isEmpty()) {
            return new ScanVerdict(Decision.REFUSE_SPAM, "550 5.7.1 Message refused: it fails the DMARC check of its sender's"
                + " domain, whose policy is to reject it", Map.of(), spamSummary(result.get()));
        }
        if (result.isPresent() && policy.refuses(result.get())) {
            return new ScanVerdict(Decision.REFUSE_SPAM, String.format(Locale.ROOT, policy.spamReply(),
                result.get().score(), policy.limit(result.get())), Map.of(), spamSummary(result.get()));
        }
        if (virus.unavailable().isPresent() && !clamdFailOpen) {
            return new ScanVerdict(Decision.TRY_LATER, "451 4.7.1 Message not scanned (virus scanner unavailable), try again later",
                Map.of(), "clamd unavailable: " + virus.unavailable().get());
        }
        if (spam.unavailable().isPresent() && !rspamdFailOpen) {
            return new ScanVerdict(Decision.TRY_LATER, "451 4.7.1 Message not scanned (spam scanner unavailable), try again later",
                Map.of(), "rspamd unavailable: " + spam.unavailable().get());
        }

        Map<String, String> headers = new LinkedHashMap<>();
        StringBuilder summary = new StringBuilder();
        if (virus.result().isPresent()) {
            headers.put(VIRUS_SCANNED, "ClamAV, clean");
            summary.append("clamd clean");
        } else {
            headers.put(VIRUS_SCANNED, virus.unavailable().map(why -> "not scanned, virus scanner unavailable (fail-open)")
                .orElse("not scanned, no virus scanner configured"));
            summary.append(virus.unavailable().map(why -> "clamd unavailable, let through (fail-open): " + why).orElse("clamd not configured"));
        }
        boolean spammy = result.map(r -> r.action().equals("add header") || r.action().equals("rewrite subject")
            || r.action().equals("soft reject")).orElse(false);
        if (result.isPresent()) {
            headers.put(SPAM_STATUS, String.format(Locale.ROOT, "%s, score=%.2f required=%.2f action=%s",
                spammy ? "Yes" : "No", result.get().score(), result.get().requiredScore(), result.get().action()));
            Optional.ofNullable(result.get().addHeaders().get(AUTHENTICATION_RESULTS))
                .ifPresent(value -> headers.put(AUTHENTICATION_RESULTS, value));
            summary.append("; ").append(spamSummary(result.get()));
        } else {
            headers.put(SPAM_STATUS, spam.unavailable().map(why -> "Unknown, spam scanner unavailable (fail-open)")
                .orElse("Unknown, no spam scanner configured"));
            summary.append("; ").append(spam.unavailable().map(why -> "rspamd unavailable, let through (fail-open): " + why)
                .orElse("rspamd not configured"));
        }
        headers.put(SPAM_FLAG, spammy ? "Yes" : "No");
        return new ScanVerdict(spammy ? Decision.ACCEPT_AS_SPAM : Decision.ACCEPT, "", headers, summary.toString());
    }

    private static String spamSummary(RspamdClient.Result result) {
        return String.format(Locale.ROOT, "rspamd %s, score %.2f / %.2f %s", result.action(), result.score(), result.requiredScore(), result.symbols());
    }
}
