package org.mailcluster.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The outside world's MX: Postfix's smtp-sink (a real receiving SMTP server) on the address the
 * cluster's DNS gives as the MX of the remote test domain. It writes each message it receives,
 * with its envelope (X-Mail-Args, X-Rcpt-Args), to a file. Started and stopped by the test, by PID.
 */
final class RemoteMx implements AutoCloseable {

    private final Process process;
    private final Path dumps;

    private RemoteMx(Process process, Path dumps) {
        this.process = process;
        this.dumps = dumps;
    }

    static RemoteMx start(InetSocketAddress address) throws Exception {
        return start(address, new String[0]);
    }

    /**
     * With smtp-sink's own options, for example {@code "-r", "rcpt"} (answer RCPT with 4xx),
     * {@code "-f", "rcpt"} (5xx) or {@code "-L"} (speak LMTP).
     */
    static RemoteMx start(InetSocketAddress address, String... options) throws Exception {
        Path smtpSink = Path.of("/usr/sbin/smtp-sink");
        if (!Files.isExecutable(smtpSink)) {
            throw new IllegalStateException("Postfix's smtp-sink is missing: ./mailcluster test installs it (Debian package postfix)");
        }
        Path dumps = Files.createTempDirectory("remote-mx-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.setPosixFilePermissions(dumps, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<String> command = new ArrayList<>(List.of(smtpSink.toString(), "-u", "nobody", "-d", dumps + "/%M."));
        command.addAll(List.of(options));
        command.addAll(List.of(address.getHostString() + ":" + address.getPort(), "64"));
        Process process = new ProcessBuilder(command)
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
                return new RemoteMx(process, dumps);
            } catch (IOException notYet) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("smtp-sink exited at start (exit " + process.exitValue() + "), is " + address + " taken?");
                }
                Thread.sleep(100);
            }
        }
        process.destroy();
        throw new IllegalStateException("smtp-sink did not listen on " + address + " within 10 s");
    }

    /** Every message received so far, with its envelope headers. */
    List<String> received() throws IOException {
        try (Stream<Path> files = Files.list(dumps)) {
            return files.map(file -> {
                try {
                    return Files.readString(file);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
        }
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        process.waitFor();
        try (Stream<Path> files = Files.list(dumps)) {
            for (Path file : files.toList()) {
                Files.deleteIfExists(file);
            }
        }
        Files.deleteIfExists(dumps);
    }
}
