package org.mailcluster.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Drives {@code ./mailcluster} from Java: the same script a user runs, so tests exercise what
 * users get. Every call is bounded in time.
 */
public final class LocalCluster {

    /** What one run of ./mailcluster printed (stdout and stderr interleaved) and its exit code. */
    public record Result(int exitCode, String output) {
        public boolean succeeded() {
            return exitCode == 0;
        }
    }

    private final Path root;

    public LocalCluster(Path root) {
        this.root = root;
    }

    /** Finds the checkout holding ./mailcluster, walking up from the working directory. */
    public static LocalCluster locate() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isExecutable(p.resolve("mailcluster")) && Files.isDirectory(p.resolve("launcher"))) {
                return new LocalCluster(p);
            }
        }
        throw new IllegalStateException("./mailcluster not found in " + dir + " or any parent folder");
    }

    public Path root() {
        return root;
    }

    public Result run(Duration timeout, String... args) {
        return run(timeout, Map.of(), args);
    }

    /** {@link #run(Duration, String...)} with extra environment, e.g. {@code MC_HA=1}. */
    public Result run(Duration timeout, Map<String, String> environment, String... args) {
        List<String> command = new java.util.ArrayList<>();
        command.add(root.resolve("mailcluster").toString());
        command.addAll(List.of(args));
        return execute(timeout, environment, command);
    }

    /**
     * Runs one of the launcher's own scripts, e.g. {@code script(timeout, "launcher/nodes.sh",
     * "stop-one", "mailbox1")} or {@code script(timeout, "launcher/services/rabbitmq.sh", "stop")}:
     * fault tests stop and start single components the way an operator would.
     */
    public Result script(Duration timeout, String script, String... args) {
        List<String> command = new java.util.ArrayList<>();
        command.add("bash");
        command.add(root.resolve(script).toString());
        command.addAll(List.of(args));
        return execute(timeout, Map.of(), command);
    }

    /** {@link #script}, for a step a test depends on: a non-zero exit fails with the script's output. */
    public void scriptMustSucceed(Duration timeout, String script, String... args) {
        scriptMustSucceed(timeout, Map.of(), script, args);
    }

    /**
     * {@link #scriptMustSucceed} with extra environment, e.g. a node started with
     * {@code MC_REMOTE_DELIVERY_DELAYS} of its own, as a deployment would configure it.
     */
    public void scriptMustSucceed(Duration timeout, Map<String, String> environment, String script, String... args) {
        List<String> command = new java.util.ArrayList<>();
        command.add("bash");
        command.add(root.resolve(script).toString());
        command.addAll(List.of(args));
        Result result = execute(timeout, environment, command);
        if (!result.succeeded()) {
            throw new AssertionError(script + " " + String.join(" ", args) + " failed (exit " + result.exitCode() + "):\n"
                + result.output());
        }
    }

    private Result execute(Duration timeout, Map<String, String> environment, List<String> command) {
        String[] args = command.toArray(String[]::new);
        try {
            Path out = Files.createTempFile("mailcluster-", ".out");
            try {
                ProcessBuilder builder = new ProcessBuilder(command).directory(root.toFile());
                // Tests run inside the Maven build, which has just built the nodes: never rebuild.
                builder.environment().put("MC_NO_BUILD", "1");
                builder.environment().putAll(environment);
                Process process = builder
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
                if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroy);
                    process.destroy();
                    throw new IllegalStateException(String.join(" ", args)
                        + " did not finish within " + timeout + "; output so far:\n" + Files.readString(out));
                }
                return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not run " + String.join(" ", args), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Brings the cluster up (idempotent); fails with the launcher's own message naming what broke. */
    public void up() {
        Result result = run(Duration.ofMinutes(15), "up");
        if (!result.succeeded()) {
            throw new IllegalStateException("./mailcluster up failed (exit " + result.exitCode() + "):\n" + result.output());
        }
    }

    public void down() {
        Result result = run(Duration.ofMinutes(5), "down");
        if (!result.succeeded()) {
            throw new IllegalStateException("./mailcluster down failed (exit " + result.exitCode() + "):\n" + result.output());
        }
    }

    public ClusterEndpoints endpoints() {
        Result result = run(Duration.ofMinutes(1), "env");
        if (!result.succeeded()) {
            throw new IllegalStateException("./mailcluster env failed:\n" + result.output());
        }
        return ClusterEndpoints.parse(result.output());
    }

    /** Components that `status` does not report healthy (empty when all are). */
    public List<String> unhealthyComponents() {
        Result result = run(Duration.ofMinutes(2), "status");
        return result.output().lines()
            .skip(1)
            .filter(line -> !line.isBlank() && !line.startsWith("mailcluster:"))
            .filter(line -> !line.trim().endsWith(" healthy"))
            .map(line -> line.trim().split("\\s+")[0])
            .toList();
    }
}
