package org.mailcluster.testing;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The endpoints of the local cluster, as {@code ./mailcluster env} prints them
 * ({@code export MAILCLUSTER_X='value'} lines). The variable names are a stable contract.
 */
public record ClusterEndpoints(Map<String, String> variables) {

    public static ClusterEndpoints parse(String envOutput) {
        Map<String, String> vars = new LinkedHashMap<>();
        envOutput.lines()
            .map(String::trim)
            .filter(line -> line.startsWith("export MAILCLUSTER_"))
            .forEach(line -> {
                String assignment = line.substring("export ".length());
                int eq = assignment.indexOf('=');
                String value = assignment.substring(eq + 1);
                if (value.length() >= 2 && value.startsWith("'") && value.endsWith("'")) {
                    value = value.substring(1, value.length() - 1);
                }
                vars.put(assignment.substring(0, eq), value);
            });
        return new ClusterEndpoints(Map.copyOf(vars));
    }

    public String get(String name) {
        String value = variables.get(name);
        if (value == null) {
            throw new IllegalStateException("./mailcluster env does not give " + name);
        }
        return value;
    }

    public String domain() {
        return get("MAILCLUSTER_DOMAIN");
    }

    public String remoteDomain() {
        return get("MAILCLUSTER_REMOTE_DOMAIN");
    }

    public InetSocketAddress dns() {
        return hostPort(get("MAILCLUSTER_DNS"));
    }

    public List<InetSocketAddress> mx() {
        return Arrays.stream(get("MAILCLUSTER_MX").split(",")).map(ClusterEndpoints::hostPort).toList();
    }

    /** The backup MX's SMTP address; fails when the cluster runs none ({@code up --backup-mx}). */
    public InetSocketAddress backupMx() {
        String value = get("MAILCLUSTER_BACKUP_MX");
        if (value.isEmpty()) {
            throw new IllegalStateException("the cluster runs no backup MX (./mailcluster up --backup-mx)");
        }
        return hostPort(value);
    }

    /** Every node's address by name (mx1, mailbox2, backupmx1, ...): its webadmin listens there on 8000. */
    public java.util.Map<String, String> nodes() {
        java.util.Map<String, String> nodes = new java.util.LinkedHashMap<>();
        for (String entry : get("MAILCLUSTER_NODES").split(",")) {
            int equals = entry.indexOf('=');
            if (equals > 0) {
                nodes.put(entry.substring(0, equals), entry.substring(equals + 1));
            }
        }
        return nodes;
    }

    /** The webadmin of one node. */
    public URI webadmin(String node) {
        String address = nodes().get(node);
        if (address == null) {
            throw new IllegalStateException("no node named " + node + " in this cluster (have " + nodes().keySet() + ")");
        }
        return URI.create("http://" + address + ":8000");
    }

    public InetSocketAddress submission() {
        return hostPort(get("MAILCLUSTER_SUBMISSION"));
    }

    public InetSocketAddress imap() {
        return hostPort(get("MAILCLUSTER_IMAP"));
    }

    /** JMAP's base URL on the first mailbox node ({@code /jmap/session} is under it). */
    public URI jmap() {
        return URI.create(get("MAILCLUSTER_JMAP"));
    }

    public URI webadmin() {
        return URI.create(get("MAILCLUSTER_WEBADMIN"));
    }

    /** "Header-Name: value" a webadmin client sends to authenticate. */
    public String webadminAuth() {
        return get("MAILCLUSTER_WEBADMIN_AUTH");
    }

    public URI rabbitmq() {
        return URI.create(get("MAILCLUSTER_RABBITMQ"));
    }

    public URI rabbitmqManagement() {
        return URI.create(get("MAILCLUSTER_RABBITMQ_MANAGEMENT"));
    }

    /** RabbitMQ's AMQP over TLS (amqps://), beside its plain listener. */
    public URI rabbitmqTls() {
        return URI.create(get("MAILCLUSTER_RABBITMQ_TLS"));
    }

    /** RabbitMQ's management API over https. */
    public URI rabbitmqManagementTls() {
        return URI.create(get("MAILCLUSTER_RABBITMQ_MANAGEMENT_TLS"));
    }

    /** The PEM file of the CA that signed RabbitMQ's and Cassandra's certificates. */
    public java.nio.file.Path backendsCa() {
        return java.nio.file.Path.of(get("MAILCLUSTER_BACKENDS_CA"));
    }

    public InetSocketAddress cassandra() {
        return hostPort(get("MAILCLUSTER_CASSANDRA"));
    }

    public URI opensearch() {
        return URI.create(get("MAILCLUSTER_OPENSEARCH"));
    }

    public static InetSocketAddress hostPort(String value) {
        int colon = value.lastIndexOf(':');
        return new InetSocketAddress(value.substring(0, colon), Integer.parseInt(value.substring(colon + 1)));
    }
}
