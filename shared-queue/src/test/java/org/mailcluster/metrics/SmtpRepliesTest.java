package org.mailcluster.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.james.metrics.dropwizard.DropWizardMetricFactory;
import org.apache.james.protocols.api.ProtocolSessionImpl;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MessageHook;
import org.apache.james.protocols.smtp.hook.RcptHook;
import org.junit.jupiter.api.Test;

import com.codahale.metrics.MetricRegistry;

class SmtpRepliesTest {
    final MetricRegistry registry = new MetricRegistry();
    final SmtpReplies replies = new SmtpReplies(new DropWizardMetricFactory(registry));
    final MessageHook messageHook = (session, mail) -> HookResult.DECLINED;
    final RcptHook rcptHook = new RcptHook() {
    };

    long count(String replyClass) {
        return registry.meter("mailcluster_smtp_replies_" + replyClass).getCount();
    }

    @Test
    void everyClassExistsFromTheStart() {
        assertThat(registry.getMeters().keySet()).containsExactlyInAnyOrder(
            "mailcluster_smtp_replies_2xx", "mailcluster_smtp_replies_3xx", "mailcluster_smtp_replies_4xx", "mailcluster_smtp_replies_5xx");
    }

    @Test
    void commandAnswersAreCountedByTheirFirstDigit() {
        replies.onResponse(null, new SMTPResponse("250", "OK"), 1, null);
        replies.onResponse(null, new SMTPResponse("354", "go ahead"), 1, null);
        replies.onResponse(null, new SMTPResponse("550", "5.7.1 relaying denied"), 1, null);
        replies.onResponse(null, new SMTPResponse("451", "4.7.1 try later"), 1, null);
        replies.onResponse(null, new SMTPResponse("250", "OK"), 1, null);
        assertThat(count("2xx")).isEqualTo(2);
        assertThat(count("3xx")).isEqualTo(1);
        assertThat(count("4xx")).isEqualTo(1);
        assertThat(count("5xx")).isEqualTo(1);
    }

    @Test
    void anAnswerHandedOverTwiceIsCountedOnceButTheSameConstantForTwoCommandsTwice() {
        ProtocolSessionImpl session = new ProtocolSessionImpl(null, null);
        org.apache.james.protocols.api.Response noop = new SMTPResponse("250", "2.0.0 OK").immutable();
        // NOOP, handed over twice as James does, then NOOP again: James's same constant answer
        org.apache.james.protocols.api.Response first = replies.onResponse(session, noop, 1, null);
        assertThat(replies.onResponse(session, first, 1, null)).isSameAs(first);
        assertThat(first.getLines()).isEqualTo(noop.getLines());
        replies.onResponse(session, replies.onResponse(session, noop, 1, null), 1, null);
        assertThat(count("2xx")).isEqualTo(2);
    }

    @Test
    void theMessagesEndIsCountedOnceFromTheHookThatAnswers() {
        // the scanners decline (they let the message through), the queueing answers 250
        replies.onHookResult(null, HookResult.DECLINED, 1, messageHook);
        replies.onHookResult(null, HookResult.builder().hookReturnCode(HookReturnCode.ok()).smtpReturnCode("250")
            .smtpDescription("Message received").build(), 1, messageHook);
        // a virus: 554; a scanner away: 451 (the default code of a soft denial)
        replies.onHookResult(null, HookResult.builder().hookReturnCode(HookReturnCode.deny()).smtpReturnCode("554").build(), 1, messageHook);
        replies.onHookResult(null, HookResult.DENYSOFT, 1, messageHook);
        assertThat(count("2xx")).isEqualTo(1);
        assertThat(count("4xx")).isEqualTo(1);
        assertThat(count("5xx")).isEqualTo(1);
    }

    @Test
    void aCommandHooksResultIsLeftToTheCommandsAnswer() {
        replies.onHookResult(null, HookResult.DENY, 1, rcptHook);
        assertThat(count("5xx")).as("counted once, when the RCPT answer passes onResponse").isZero();
    }
}
