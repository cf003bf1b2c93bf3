package org.mailcluster.scanning;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.apache.james.util.DurationParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scanners of one SMTP server and what it does when one does not answer, read from the
 * environment:
 * <ul>
 *   <li>{@code MC_RSPAMD_URL} (e.g. {@code http://127.0.6.1:11333}) and
 *       {@code MC_CLAMAV_ADDRESS} ({@code host:port}): empty means not configured, which the
 *       node logs at start and its health check reports as degraded (mail is not scanned);</li>
 *   <li>{@code MC_RSPAMD_FAIL_OPEN}, {@code MC_CLAMAV_FAIL_OPEN}: {@code true} lets mail
 *       through unscanned while that scanner is unavailable (logged for each message, and
 *       degraded health); default {@code false}: {@code 451}, the sender tries again;</li>
 *   <li>{@code MC_SCAN_TIMEOUT}: how long a scanner may take (default 30 seconds).</li>
 * </ul>
 * Both scanners look at a message at the same time.
 */
public class Scanners {
    private static final Logger LOGGER = LoggerFactory.getLogger(Scanners.class);

    private final Optional<RspamdClient> rspamd;
    private final Optional<ClamdClient> clamd;
    private final boolean rspamdFailOpen;
    private final boolean clamdFailOpen;
    private final ExecutorService virusScans = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "clamd-scan");
        thread.setDaemon(true);
        return thread;
    });

    public Scanners(Optional<RspamdClient> rspamd, boolean rspamdFailOpen, Optional<ClamdClient> clamd, boolean clamdFailOpen) {
        this.rspamd = rspamd;
        this.clamd = clamd;
        this.rspamdFailOpen = rspamdFailOpen;
        this.clamdFailOpen = clamdFailOpen;
    }

    public static Scanners fromEnvironment(Map<String, String> env) {
        Duration timeout = Optional.ofNullable(env.get("MC_SCAN_TIMEOUT")).filter(v -> !v.isBlank())
            .map(DurationParser::parse).orElse(Duration.ofSeconds(30));
        Optional<RspamdClient> rspamd = Optional.ofNullable(env.get("MC_RSPAMD_URL")).map(String::trim).filter(v -> !v.isEmpty())
            .map(url -> new RspamdClient(URI.create(url), timeout));
        Optional<ClamdClient> clamd = Optional.ofNullable(env.get("MC_CLAMAV_ADDRESS")).map(String::trim).filter(v -> !v.isEmpty())
            .map(address -> new ClamdClient(hostPort(address, "MC_CLAMAV_ADDRESS"), timeout));
        Scanners scanners = new Scanners(rspamd, flag(env, "MC_RSPAMD_FAIL_OPEN"), clamd, flag(env, "MC_CLAMAV_FAIL_OPEN"));
        scanners.logSettings();
        return scanners;
    }

    public Optional<RspamdClient> rspamd() {
        return rspamd;
    }

    public Optional<ClamdClient> clamd() {
        return clamd;
    }

    public boolean rspamdFailOpen() {
        return rspamdFailOpen;
    }

    public boolean clamdFailOpen() {
        return clamdFailOpen;
    }

    public ScanVerdict scan(byte[] message, RspamdClient.Envelope envelope) {
        return scan(message, envelope, ScanVerdict.Policy.INBOUND);
    }

    public ScanVerdict scan(byte[] message, RspamdClient.Envelope envelope, ScanVerdict.Policy policy) {
        CompletableFuture<ScanVerdict.Answer<Optional<String>>> virus = clamd
            .map(client -> CompletableFuture.supplyAsync(() -> {
                try {
                    return ScanVerdict.Answer.of(client.scan(message));
                } catch (ScannerUnavailable e) {
                    return ScanVerdict.Answer.<Optional<String>>unavailable(e.getMessage());
                }
            }, virusScans))
            .orElse(CompletableFuture.completedFuture(ScanVerdict.Answer.notConfigured()));
        ScanVerdict.Answer<RspamdClient.Result> spam = rspamd.map(client -> {
            try {
                return ScanVerdict.Answer.of(client.check(message, envelope));
            } catch (ScannerUnavailable e) {
                return ScanVerdict.Answer.<RspamdClient.Result>unavailable(e.getMessage());
            }
        }).orElse(ScanVerdict.Answer.notConfigured());
        return ScanVerdict.decide(virus.join(), clamdFailOpen, spam, rspamdFailOpen, policy);
    }

    private void logSettings() {
        LOGGER.info("scanning: rspamd {}{}, clamd {}{}",
            rspamd.map(r -> r.base().toString()).orElse("NOT CONFIGURED"), rspamdFailOpen ? " (fail-open)" : "",
            clamd.map(c -> c.address().toString()).orElse("NOT CONFIGURED"), clamdFailOpen ? " (fail-open)" : "");
        if (rspamd.isEmpty() || clamd.isEmpty()) {
            LOGGER.error("scanning is incomplete: set MC_RSPAMD_URL and MC_CLAMAV_ADDRESS; mail is accepted without the missing scan");
        }
    }

    private static boolean flag(Map<String, String> env, String name) {
        String value = env.getOrDefault(name, "false").trim();
        if (!value.equals("true") && !value.equals("false") && !value.isEmpty()) {
            throw new IllegalArgumentException(name + " must be true or false (was \"" + value + "\")");
        }
        return value.equals("true");
    }

    private static InetSocketAddress hostPort(String value, String name) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException(name + " must be host:port (was \"" + value + "\")");
        }
        return new InetSocketAddress(value.substring(0, colon), Integer.parseInt(value.substring(colon + 1)));
    }
}
