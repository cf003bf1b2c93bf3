package org.mailcluster.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.james.core.MailAddress;
import org.apache.james.queue.api.MailQueue;
import org.apache.james.server.core.MailImpl;
import org.apache.mailet.Mail;
import org.junit.jupiter.api.Test;

import reactor.core.publisher.Sinks;

class DestinationConcurrencyTest {

    /** A dequeued mail to one recipient, remembering how it was done with. */
    static final class Item implements MailQueue.MailQueueItem {
        final Mail mail;
        final List<CompletionStatus> done = new ArrayList<>();

        Item(String name, String recipient) throws Exception {
            this.mail = MailImpl.builder().name(name).addRecipient(new MailAddress(recipient)).build();
        }

        @Override
        public Mail getMail() {
            return mail;
        }

        @Override
        public void done(CompletionStatus status) {
            done.add(status);
        }
    }

    private final Sinks.Many<MailQueue.MailQueueItem> queue = Sinks.many().unicast().onBackpressureBuffer();
    private final List<MailQueue.MailQueueItem> handedOut = new CopyOnWriteArrayList<>();

    private DestinationConcurrency gate(int total, Map<String, Integer> limits) {
        DestinationConcurrency gate = new DestinationConcurrency(total, domain -> limits.getOrDefault(domain, 20));
        gate.admit(queue.asFlux()).subscribe(handedOut::add);
        return gate;
    }

    private void dequeue(Item... items) {
        for (Item item : items) {
            queue.tryEmitNext(item);
        }
    }

    private List<String> handedOutNames() {
        return handedOut.stream().map(item -> item.getMail().getName()).toList();
    }

    @Test
    void aSaturatedDomainWaitsWhileOtherDomainsGoAhead() throws Exception {
        DestinationConcurrency gate = gate(8, Map.of("slow.example", 2));
        dequeue(new Item("s1", "a@slow.example"), new Item("s2", "b@slow.example"), new Item("s3", "c@slow.example"),
            new Item("o1", "a@other.example"), new Item("s4", "d@Slow.Example"));

        assertThat(handedOutNames()).containsExactly("s1", "s2", "o1");
        assertThat(gate.inFlight()).containsEntry("slow.example", 2).containsEntry("other.example", 1);
        assertThat(gate.waiting()).containsEntry("slow.example", 2);
    }

    @Test
    void aFinishedDeliveryLetsTheOldestWaitingMailOfItsDomainGo() throws Exception {
        DestinationConcurrency gate = gate(8, Map.of("slow.example", 1));
        dequeue(new Item("s1", "a@slow.example"), new Item("s2", "b@slow.example"), new Item("s3", "c@slow.example"));
        assertThat(handedOutNames()).containsExactly("s1");

        handedOut.get(0).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);

        assertThat(handedOutNames()).containsExactly("s1", "s2");
        assertThat(gate.waiting()).containsEntry("slow.example", 1);
    }

    @Test
    void aRetryFreesTheSlotLikeASuccessAndTheQueueSeesTheStatus() throws Exception {
        gate(8, Map.of("slow.example", 1));
        Item first = new Item("s1", "a@slow.example");
        dequeue(first, new Item("s2", "b@slow.example"));

        handedOut.get(0).done(MailQueue.MailQueueItem.CompletionStatus.RETRY);

        assertThat(first.done).containsExactly(MailQueue.MailQueueItem.CompletionStatus.RETRY);
        assertThat(handedOutNames()).containsExactly("s1", "s2");
    }

    @Test
    void aSlotIsFreedOnceEvenIfDoneIsCalledTwice() throws Exception {
        DestinationConcurrency gate = gate(8, Map.of("slow.example", 1));
        dequeue(new Item("s1", "a@slow.example"), new Item("s2", "b@slow.example"), new Item("s3", "c@slow.example"));

        handedOut.get(0).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
        handedOut.get(0).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);

        assertThat(handedOutNames()).containsExactly("s1", "s2");
        assertThat(gate.inFlight()).containsEntry("slow.example", 1);
    }

    @Test
    void theNodeTotalCapsEveryDomainTogether() throws Exception {
        DestinationConcurrency gate = gate(2, Map.of());
        dequeue(new Item("a", "x@a.example"), new Item("b", "x@b.example"), new Item("c", "x@c.example"));
        assertThat(handedOutNames()).containsExactly("a", "b");

        handedOut.get(1).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);

        assertThat(handedOutNames()).containsExactly("a", "b", "c");
        assertThat(gate.inFlight()).containsOnlyKeys("a.example", "c.example");
    }

    @Test
    void aRaisedLimitAppliesFromTheNextAdmission() throws Exception {
        Map<String, Integer> limits = new java.util.concurrent.ConcurrentHashMap<>(Map.of("slow.example", 1));
        DestinationConcurrency gate = new DestinationConcurrency(8, domain -> limits.getOrDefault(domain, 20));
        gate.admit(queue.asFlux()).subscribe(handedOut::add);
        dequeue(new Item("s1", "a@slow.example"), new Item("s2", "b@slow.example"));
        assertThat(handedOutNames()).containsExactly("s1");

        limits.put("slow.example", 3);
        dequeue(new Item("s3", "c@slow.example"));

        assertThat(handedOutNames()).containsExactly("s1", "s2", "s3");
    }

    @Test
    void theQueuePrefetchLeavesRoomForWaitingMail() {
        assertThat(new DestinationConcurrency(8, domain -> 20).prefetch()).isEqualTo(40);
    }

    @Test
    void theDestinationIsTheFirstRecipientsDomainInLowerCase() throws Exception {
        assertThat(DestinationConcurrency.destinationOf(new Item("m", "Bob@Example.ORG").mail)).isEqualTo("example.org");
        assertThat(DestinationConcurrency.destinationOf(MailImpl.builder().name("none").build())).isEmpty();
    }

    @Test
    void theLimitIsAtLeastOneSoADomainIsNeverBlockedForGood() throws Exception {
        gate(8, Map.of("zero.example", 0));
        dequeue(new Item("z", "a@zero.example"));
        assertThat(handedOutNames()).containsExactly("z");
    }

    @Test
    void waitingMailKeepsItsOrderWhenSeveralGoAtOnce() throws Exception {
        gate(8, Map.of("slow.example", 1, "b.example", 1));
        dequeue(new Item("s1", "a@slow.example"), new Item("b1", "a@b.example"),
            new Item("s2", "b@slow.example"), new Item("b2", "b@b.example"));
        assertThat(handedOutNames()).containsExactly("s1", "b1");

        handedOut.get(1).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);
        handedOut.get(0).done(MailQueue.MailQueueItem.CompletionStatus.SUCCESS);

        assertThat(handedOutNames()).containsExactly("s1", "b1", "b2", "s2");
    }
}
