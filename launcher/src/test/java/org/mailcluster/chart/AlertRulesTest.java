package org.mailcluster.chart;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mailcluster.testing.LocalCluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * The chart's alert rules and dashboard (files/monitoring) checked by Prometheus's own promtool,
 * without a cluster: every rule's timing by the unit tests of alerts-test.yaml, every dashboard
 * expression by Prometheus's parser. (MonitoringTest checks them against real metrics.)
 * promtool comes with Debian's Prometheus, which the launcher installs.
 */
class AlertRulesTest {
    static final LocalCluster LAUNCHER = LocalCluster.locate();
    static final Path MONITORING = ChartTest.CHART.resolve("files/monitoring");

    @BeforeAll
    static void installPromtool() {
        LAUNCHER.scriptMustSucceed(Duration.ofMinutes(10), "launcher/services/prometheus.sh", "install");
    }

    static String promtool(Path directory, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("promtool"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(2, TimeUnit.MINUTES)).isTrue();
        assertThat(process.exitValue()).as("promtool " + String.join(" ", args) + ":\n" + output).isZero();
        return output;
    }

    @Test
    void everyAlertGoesOffWhenItShouldAndOnlyThen() throws Exception {
        assertThat(promtool(MONITORING, "test", "rules", "alerts-test.yaml")).contains("SUCCESS");
    }

    @Test
    void everyAlertHasItsUnitTest() throws Exception {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        List<String> alerts = yaml.readTree(MONITORING.resolve("alerts.yaml").toFile()).findValuesAsText("alert");
        List<String> tested = yaml.readTree(MONITORING.resolve("alerts-test.yaml").toFile()).findValuesAsText("alertname");
        assertThat(alerts).hasSizeGreaterThanOrEqualTo(7);
        assertThat(tested).containsAll(alerts);
    }

    /** Each panel's expression, as a recording rule, through promtool's rule check: Prometheus's parser. */
    @Test
    void everyDashboardExpressionParses(@TempDir Path directory) throws Exception {
        List<String> expressions = dashboardExpressions();
        assertThat(expressions).hasSizeGreaterThan(20);
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        for (int i = 0; i < expressions.size(); i++) {
            rules.append("      - record: dashboard_panel_").append(i).append("\n        expr: ")
                .append(new ObjectMapper().writeValueAsString(expressions.get(i))).append('\n');
        }
        Files.writeString(directory.resolve("dashboard-rules.yaml"), rules);
        assertThat(promtool(directory, "check", "rules", "dashboard-rules.yaml")).contains(expressions.size() + " rules found");
    }

    static List<String> dashboardExpressions() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(MONITORING.resolve("dashboard.json").toFile());
        return dashboard.findValuesAsText("expr");
    }
}
