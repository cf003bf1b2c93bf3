package org.mailcluster.backends;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;

/** Every publication carries its time (for the queues' oldest-message age), the rest of the channel unchanged. */
class ChannelPerUseTest {

    @Test
    void publicationsCarryTheirTimeUnlessTheyHaveOne() throws Exception {
        List<Object[]> published = new ArrayList<>();
        Channel recording = (Channel) Proxy.newProxyInstance(Channel.class.getClassLoader(), new Class<?>[] {Channel.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "basicPublish" -> {
                    published.add(args);
                    yield null;
                }
                case "getChannelNumber" -> 7;
                default -> null;
            });
        Channel stamping = ChannelPerUse.stampingPublications(recording);

        AMQP.BasicProperties james = new AMQP.BasicProperties.Builder().deliveryMode(2).contentType("text/plain").build();
        stamping.basicPublish("exchange", "", james, new byte[] {1});
        stamping.basicPublish("exchange", "", true, null, new byte[] {2});
        Date earlier = new Date(1_000_000L);
        stamping.basicPublish("exchange", "", james.builder().timestamp(earlier).build(), new byte[] {3});

        AMQP.BasicProperties first = (AMQP.BasicProperties) published.get(0)[2];
        assertThat(first.getTimestamp()).isCloseTo(new Date(), 5000);
        assertThat(first.getDeliveryMode()).as("James's properties kept").isEqualTo(2);
        assertThat(first.getContentType()).isEqualTo("text/plain");
        assertThat(((AMQP.BasicProperties) published.get(1)[3]).getTimestamp()).as("no properties at all").isNotNull();
        assertThat(((AMQP.BasicProperties) published.get(2)[2]).getTimestamp()).as("a time already there").isEqualTo(earlier);

        assertThat(stamping.getChannelNumber()).as("other calls go to the channel").isEqualTo(7);
        assertThat(stamping).isEqualTo(stamping).isNotEqualTo(recording);
        assertThat(stamping.hashCode()).isEqualTo(System.identityHashCode(stamping));
    }
}
