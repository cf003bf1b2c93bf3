package org.mailcluster.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.james.IsStartedProbe;
import org.junit.jupiter.api.Test;

import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

class EventBusReceiversTest {
    final IsStartedProbe server = new IsStartedProbe();
    final EventBusReceivers gate = new EventBusReceivers("mailboxEvent", server);

    @Test
    void onlyTheBusGroupWorkQueuesAreHeld() {
        assertThat(gate.isGroupWorkQueue("mailboxEvent-workQueue-org.apache.james.events.GroupRegistrationHandler$GroupRegistrationHandlerGroup")).isTrue();
        assertThat(gate.isGroupWorkQueue("mailboxEvent-workQueue-org.mailcluster.mailbox.search.OpenSearchMessageSearchIndex$SearchIndexGroup")).isTrue();
        assertThat(gate.isGroupWorkQueue("mailboxEvent-eventbus-51a9d966-b650-4a98-9661-40e7ed843ebf")).isFalse();
        assertThat(gate.isGroupWorkQueue("jmapEvent-workQueue-org.apache.james.jmap.pushsubscription.PushListenerGroup")).isFalse();
        assertThat(gate.isGroupWorkQueue("delivery")).isFalse();
    }

    @Test
    void groupEventsWaitUntilTheServerHasStartedThenFlow() throws Exception {
        Sinks.Many<String> queue = Sinks.many().unicast().onBackpressureBuffer();
        List<String> taken = new CopyOnWriteArrayList<>();
        Disposable consumer = gate.hold("mailboxEvent-workQueue-G", queue.asFlux()).subscribe(taken::add);
        queue.tryEmitNext("stored while the listeners register");
        Thread.sleep(600);
        assertThat(taken).as("taken before the server started").isEmpty();

        server.notifyStarted();
        awaitSize(taken, 1);
        queue.tryEmitNext("after");
        awaitSize(taken, 2);
        assertThat(taken).containsExactly("stored while the listeners register", "after");
        consumer.dispose();
    }

    @Test
    void keyQueuesAreNeverHeld() {
        List<String> taken = Flux.just("idle notification")
            .as(flux -> gate.hold("mailboxEvent-eventbus-1", flux))
            .collectList().block(Duration.ofSeconds(5));
        assertThat(taken).containsExactly("idle notification");
    }

    @Test
    void consumptionStopsWhenTheNodeShutsDown() throws Exception {
        gate.open();
        Sinks.Many<String> queue = Sinks.many().unicast().onBackpressureBuffer();
        List<String> taken = new CopyOnWriteArrayList<>();
        Sinks.Empty<Void> cancelled = Sinks.empty();
        gate.hold("mailboxEvent-workQueue-G", queue.asFlux().doOnCancel(cancelled::tryEmitEmpty)).subscribe(taken::add);
        queue.tryEmitNext("before");
        awaitSize(taken, 1);

        gate.close();
        cancelled.asMono().block(Duration.ofSeconds(5));
        queue.tryEmitNext("during shutdown");
        Thread.sleep(200);
        assertThat(taken).containsExactly("before");
    }

    private static void awaitSize(List<String> list, int size) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (list.size() < size && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(list).hasSize(size);
    }
}
