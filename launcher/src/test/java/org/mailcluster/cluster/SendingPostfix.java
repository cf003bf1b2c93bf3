package org.mailcluster.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real sending MTA for the tests: a Postfix instance of its own (Debian's postfix package,
 * which {@code ./mailcluster test} installs unconfigured), in a folder of the test's, relaying
 * whatever it receives on {@link #ADDRESS} to the recipients' MX hosts as Postfix would on the
 * Internet. Its smtp client is chrooted into its queue folder, whose {@code etc/resolv.conf}
 * names the cluster's DNS server, so it finds the cluster's MX records (equal preferences
 * picked at random, the backup MX only when no primary answers). Connection caching is off, so
 * every message makes its own MX choice. It logs every delivery ({@code relay=HOST[ADDR]:PORT},
 * {@code status=sent}) to its own log file, which the tests read. Stopped by its master's PID.
 */
final class SendingPostfix implements AutoCloseable {
    static final InetSocketAddress ADDRESS = new InetSocketAddress("127.0.9.20", 2525);
    private static final Pattern SENT = Pattern.compile("relay=[^\\[]*\\[([0-9.]+)\\]:[0-9]+,.* status=sent");

    private final Path home;
    private final long masterPid;

    private SendingPostfix(Path home, long masterPid) {
        this.home = home;
        this.masterPid = masterPid;
    }

    static SendingPostfix start(InetSocketAddress dns) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/sbin/postfix"))) {
            throw new IllegalStateException("Postfix is missing: ./mailcluster test installs it (Debian package postfix)");
        }
        if (dns.getPort() != 53) {
            throw new IllegalStateException("Postfix's resolver asks port 53 only; the cluster's DNS is on " + dns);
        }
        // Readable by the postfix user, whose daemons open files under it.
        Path home = Files.createTempDirectory("sending-postfix-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Path etc = Files.createDirectories(home.resolve("etc"));
        Path queue = Files.createDirectories(home.resolve("queue"));
        Path data = Files.createDirectories(home.resolve("data"));
        Files.createDirectories(queue.resolve("etc"));
        Files.writeString(queue.resolve("etc/resolv.conf"), "nameserver " + dns.getHostString() + "\n");
        run("chown", "postfix", data.toString());
        Files.writeString(etc.resolve("main.cf"), String.join("\n",
            "compatibility_level = 3.6",
            "queue_directory = " + queue,
            "data_directory = " + data,
            "maillog_file = " + home.resolve("postfix.log"),
            "maillog_file_prefixes = " + home,
            "inet_interfaces = loopback-only",
            "inet_protocols = ipv4",
            "myhostname = sender.outside.test",
            "mydestination =",
            "relay_domains =",
            "mynetworks = 127.0.0.0/8",
            "smtpd_relay_restrictions = permit_mynetworks, reject",
            "smtp_connection_cache_on_demand = no",
            "smtp_tls_security_level = may",
            "alias_maps =",
            "alias_database =",
            "") );
        Files.writeString(etc.resolve("master.cf"), String.join("\n",
            ADDRESS.getHostString() + ":" + ADDRESS.getPort() + " inet n - n - - smtpd",
            "pickup    unix  n - n 60 1 pickup",
            "cleanup   unix  n - n - 0 cleanup",
            "qmgr      unix  n - n 300 1 qmgr",
            "tlsmgr    unix  - - n 1000? 1 tlsmgr",
            "rewrite   unix  - - n - - trivial-rewrite",
            "bounce    unix  - - n - 0 bounce",
            "defer     unix  - - n - 0 bounce",
            "trace     unix  - - n - 0 bounce",
            "verify    unix  - - n - 1 verify",
            "flush     unix  n - n 1000? 0 flush",
            "proxymap  unix  - - n - - proxymap",
            // chrooted: the resolver reads the queue folder's etc/resolv.conf
            "smtp      unix  - - y - - smtp",
            "relay     unix  - - y - - smtp",
            "showq     unix  n - n - - showq",
            "error     unix  - - n - - error",
            "retry     unix  - - n - - error",
            "discard   unix  - - n - - discard",
            "anvil     unix  - - n - 1 anvil",
            "scache    unix  - - n - 1 scache",
            "postlog   unix-dgram n - n - 1 postlogd",
            ""));
        try {
            run("/usr/sbin/postfix", "-c", etc.toString(), "start");
        } catch (IllegalStateException failed) {
            throw new IllegalStateException(failed.getMessage() + "\nits log:\n" + log(home), failed);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket socket = new Socket(ADDRESS.getAddress(), ADDRESS.getPort())) {
                long pid = Long.parseLong(Files.readString(queue.resolve("pid/master.pid")).trim());
                return new SendingPostfix(home, pid);
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new IllegalStateException("the sending Postfix did not listen on " + ADDRESS + " within 20 s; its log:\n" + log(home));
    }

    /** Hands one message to Postfix (its smtpd), which relays it to the recipient's MX. */
    void send(String from, String to, String message) throws IOException {
        int code = Smtp.send(ADDRESS, from, to, message);
        if (code != 250) {
            throw new IOException("the sending Postfix answered " + code + " for a message to " + to);
        }
    }

    /** How many messages Postfix delivered to each server address (its log's status=sent lines). */
    Map<String, Integer> deliveredByServer() throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        for (String line : Files.readAllLines(home.resolve("postfix.log"))) {
            Matcher sent = SENT.matcher(line);
            if (sent.find()) {
                counts.merge(sent.group(1), 1, Integer::sum);
            }
        }
        return counts;
    }

    /** Waits until Postfix has delivered {@code total} messages in all. */
    Map<String, Integer> awaitDelivered(int total, Duration patience) throws Exception {
        long deadline = System.nanoTime() + patience.toNanos();
        Map<String, Integer> counts = deliveredByServer();
        while (counts.values().stream().mapToInt(Integer::intValue).sum() < total && System.nanoTime() < deadline) {
            Thread.sleep(500);
            counts = deliveredByServer();
        }
        return counts;
    }

    String log() throws IOException {
        return log(home);
    }

    private static String log(Path home) throws IOException {
        Path log = home.resolve("postfix.log");
        return Files.exists(log) ? Files.readString(log) : "(no log)";
    }

    @Override
    public void close() throws Exception {
        run("/usr/sbin/postfix", "-c", home.resolve("etc").toString(), "stop");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (ProcessHandle.of(masterPid).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        ProcessHandle.of(masterPid).ifPresent(ProcessHandle::destroyForcibly);
        run("rm", "-rf", home.toString());
    }

    private static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
        }
    }

    /**
     * The chi-square statistic of observed counts against a uniform spread, and whether a
     * uniform choice explains them (p > 0.001: the statistic is below the 0.999 quantile of the
     * chi-square distribution with k-1 degrees of freedom).
     */
    static double chiSquare(List<Integer> observed) {
        double expected = observed.stream().mapToInt(Integer::intValue).sum() / (double) observed.size();
        return observed.stream().mapToDouble(count -> (count - expected) * (count - expected) / expected).sum();
    }

    /** The 0.999 quantiles of chi-square for 1 to 6 degrees of freedom. */
    static double criticalAtOnePerMille(int degreesOfFreedom) {
        double[] quantiles = {10.828, 13.816, 16.266, 18.467, 20.515, 22.458};
        return quantiles[degreesOfFreedom - 1];
    }
}
