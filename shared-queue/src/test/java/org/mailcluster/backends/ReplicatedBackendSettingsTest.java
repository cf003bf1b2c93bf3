package org.mailcluster.backends;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.apache.commons.configuration2.BaseConfiguration;
import org.apache.commons.configuration2.Configuration;
import org.apache.james.backends.cassandra.init.configuration.CassandraConfiguration;
import org.apache.james.backends.cassandra.init.configuration.ClusterConfiguration;
import org.apache.james.backends.rabbitmq.RabbitMQConfiguration;
import org.junit.jupiter.api.Test;

import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfig;

/**
 * The settings of replicated backends as the properties files give them from the environment:
 * unset variables leave James's defaults, a cluster's nodes in one variable are several nodes,
 * and the consistency levels reach the driver's profiles.
 */
class ReplicatedBackendSettingsTest {

    static Configuration file(Map<String, String> values) {
        BaseConfiguration file = new BaseConfiguration();
        values.forEach(file::setProperty);
        return file;
    }

    @Test
    void unsetVariablesLeaveTheirKeysOutAndNodeListsAreSplit() {
        Configuration read = RequiredProperties.withoutUnset(file(Map.of(
            "cassandra.nodes", "c1:9042, c2:9042,c3:9042",
            "cassandra.user", "${env:MC_CASSANDRA_USER_THAT_IS_NOT_SET}",
            "cassandra.local.dc", " ",
            "cassandra.password", "a,comma",
            "cassandra.keyspace", "mail")));
        assertThat(read.containsKey("cassandra.user")).isFalse();
        assertThat(read.containsKey("cassandra.local.dc")).isFalse();
        assertThat(read.getString("cassandra.password")).as("only node lists are split").isEqualTo("a,comma");
        assertThat(read.getString("cassandra.keyspace")).isEqualTo("mail");

        ClusterConfiguration cluster = ClusterConfiguration.from(read);
        assertThat(cluster.getHosts()).extracting(host -> host.getHostName() + ":" + host.getPort())
            .containsExactly("c1:9042", "c2:9042", "c3:9042");
        assertThat(cluster.getUsername()).as("no credentials when the variable is unset").isEmpty();
        assertThat(cluster.getLocalDC()).isEmpty();
    }

    @Test
    void theConsistencyLevelsReachTheDriversProfiles() {
        DriverConfig defaults = CassandraStorageModule.ConnectedCluster.driverConfiguration(
            CassandraConfiguration.from(RequiredProperties.withoutUnset(file(Map.of(
                "cassandra.consistency_level.regular", "${env:MC_CASSANDRA_CONSISTENCY_THAT_IS_NOT_SET}"))))).getInitialConfig();
        assertThat(defaults.getDefaultProfile().getString(DefaultDriverOption.REQUEST_CONSISTENCY)).isEqualTo("QUORUM");
        assertThat(defaults.getDefaultProfile().getString(DefaultDriverOption.REQUEST_SERIAL_CONSISTENCY)).isEqualTo("SERIAL");

        DriverConfig local = CassandraStorageModule.ConnectedCluster.driverConfiguration(CassandraConfiguration.from(file(Map.of(
            "cassandra.consistency_level.regular", "LOCAL_QUORUM",
            "cassandra.consistency_level.lightweight_transaction", "LOCAL_SERIAL")))).getInitialConfig();
        assertThat(local.getDefaultProfile().getString(DefaultDriverOption.REQUEST_CONSISTENCY)).isEqualTo("LOCAL_QUORUM");
        assertThat(local.getDefaultProfile().getString(DefaultDriverOption.REQUEST_SERIAL_CONSISTENCY)).isEqualTo("LOCAL_SERIAL");
        assertThat(local.getProfile("LWT").getString(DefaultDriverOption.REQUEST_SERIAL_CONSISTENCY)).isEqualTo("LOCAL_SERIAL");
        assertThat(local.getDefaultProfile().getStringList(DefaultDriverOption.METRICS_NODE_ENABLED))
            .as("the error counters stay on").contains("errors.request.read-timeouts");
    }

    @Test
    void rabbitMQClusterHostsAndQuorumQueuesFromTheEnvironment() {
        Configuration read = RequiredProperties.withoutUnset(file(Map.of(
            "uri", "amqp://r1:5672", "management.uri", "http://r1:15672", "management.user", "mail", "management.password", "pw",
            "hosts", "r1:5672,r2:5672,r3:5672",
            "quorum.queues.enable", "true", "quorum.queues.replication.factor", "3")));
        RabbitMQConfiguration rabbit = RabbitMQConfiguration.from(read);
        assertThat(rabbit.rabbitMQHosts()).hasSize(3);
        assertThat(rabbit.workQueueArgumentsBuilder(true).build()).containsEntry("x-queue-type", "quorum");

        RabbitMQConfiguration single = RabbitMQConfiguration.from(RequiredProperties.withoutUnset(file(Map.of(
            "uri", "amqp://r1:5672", "management.uri", "http://r1:15672", "management.user", "mail", "management.password", "pw",
            "hosts", "${env:MC_RABBITMQ_HOSTS_THAT_IS_NOT_SET}", "quorum.queues.enable", "${env:MC_RABBITMQ_QUORUM_THAT_IS_NOT_SET}"))));
        assertThat(single.workQueueArgumentsBuilder(true).build()).doesNotContainKey("x-queue-type");
        assertThat(List.copyOf(single.rabbitMQHosts())).hasSize(1);
    }
}
