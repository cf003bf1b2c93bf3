package org.mailcluster.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.mailcluster.testing.LocalCluster;
import org.mailcluster.testing.MailClusterExtension;

/**
 * docs/operations.md cannot rot: its {@code sh} blocks run in order, as one bash session with
 * {@code set -euo pipefail} from the checkout, against the local cluster, and every one must
 * succeed (each curl has {@code -f}: an HTTP error fails it).
 */
@ExtendWith(MailClusterExtension.class)
class OperationsRunbookTest {
    static final Pattern SH_BLOCK = Pattern.compile("```sh\\n(.*?)```", Pattern.DOTALL);

    @Test
    void everyExampleOfTheRunbookSucceeds(LocalCluster launcher) throws Exception {
        String runbook = Files.readString(launcher.root().resolve("docs/operations.md"));
        List<String> blocks = new ArrayList<>();
        Matcher block = SH_BLOCK.matcher(runbook);
        while (block.find()) {
            blocks.add(block.group(1));
        }
        assertThat(blocks).as("sh blocks in docs/operations.md").hasSizeGreaterThan(5);
        Path script = Files.createTempFile("operations", ".sh");
        try {
            // The failing command is named as written (no set -x: it would print the secret).
            Files.writeString(script, "set -euo pipefail\ntrap 'echo \"FAILED: $BASH_COMMAND\" >&2' ERR\n" + String.join("\n", blocks));
            Process bash = new ProcessBuilder("bash", script.toString()).directory(launcher.root().toFile())
                .redirectErrorStream(true).start();
            String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(bash.waitFor(5, TimeUnit.MINUTES)).as("the runbook's examples finished").isTrue();
            assertThat(bash.exitValue()).as("the runbook's examples:\n" + output).isZero();
        } finally {
            Files.deleteIfExists(script);
        }
    }
}
