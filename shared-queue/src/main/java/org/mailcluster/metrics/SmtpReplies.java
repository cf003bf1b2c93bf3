package org.mailcluster.metrics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.inject.Inject;

import org.apache.james.metrics.api.Metric;
import org.apache.james.metrics.api.MetricFactory;
import org.apache.james.protocols.api.ProtocolSession;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.StartTlsResponse;
import org.apache.james.protocols.api.StreamResponse;
import org.apache.james.protocols.api.handler.ProtocolHandler;
import org.apache.james.protocols.api.handler.ProtocolHandlerResultHandler;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.core.AbstractHookableCmdHandler;
import org.apache.james.protocols.smtp.hook.Hook;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookResultHook;
import org.apache.james.protocols.smtp.hook.MessageHook;
import org.apache.james.smtpserver.JamesMessageHook;

/**
 * The SMTP answers a node gives, by class: {@code mailcluster_smtp_replies_2xx_total} (and 3xx,
 * 4xx, 5xx) on {@code /metrics}, what a mail administrator watches for refusals and deferrals.
 * One handler in each SMTP server's handler chain, counting at the two places James forms an
 * answer: the answer to every command (EHLO, MAIL, RCPT, DATA's 354, ...), which James's command
 * dispatcher hands to result handlers; and the answer at the end of the message, which James
 * takes from the first message hook that does not decline (the scanners' refusals, the queueing's
 * 250 or 451) and shows only to hook-result hooks. The greeting counts as an answer too.
 */
public class SmtpReplies implements ProtocolHandlerResultHandler<Response, ProtocolSession>, HookResultHook {
    private static final ProtocolSession.AttachmentKey<Response> LAST_SPECIAL =
        ProtocolSession.AttachmentKey.of("mailcluster.smtp.lastSpecialReply", Response.class);

    private final Map<Character, Metric> counters = new LinkedHashMap<>();

    @Inject
    public SmtpReplies(MetricFactory metrics) {
        // all four exist from the start, at 0: a rate of refusals reads a series that is there
        for (char replyClass : new char[] {'2', '3', '4', '5'}) {
            counters.put(replyClass, metrics.generate("mailcluster_smtp_replies_" + replyClass + "xx"));
        }
    }

    @Override
    public Response onResponse(ProtocolSession session, Response response, long executionTime, ProtocolHandler handler) {
        // James 3.8.1 hands each answer to its result handlers twice (the dispatcher gets them
        // wired twice). The first time, the answer goes on as a Counted wrapper, which the second
        // time recognises; a constant answer of James's (NOOP's, say) given to two commands in a
        // row is still two answers. The transport treats StartTlsResponse and StreamResponse
        // specially, so those go on unwrapped and are told apart by the session's last one.
        if (response == null || response instanceof Counted) {
            return response;
        }
        if (response instanceof StartTlsResponse || response instanceof StreamResponse) {
            if (session == null || session.setAttachment(LAST_SPECIAL, response, ProtocolSession.State.Connection)
                    .filter(previous -> previous == response).isEmpty()) {
                count(response.getRetCode());
            }
            return response;
        }
        count(response.getRetCode());
        return new Counted(response);
    }

    /** An answer already counted; otherwise the very answer it wraps. */
    record Counted(Response answer) implements Response {
        @Override
        public String getRetCode() {
            return answer.getRetCode();
        }

        @Override
        public List<CharSequence> getLines() {
            return answer.getLines();
        }

        @Override
        public boolean isEndSession() {
            return answer.isEndSession();
        }
    }

    @Override
    public HookResult onHookResult(SMTPSession session, HookResult result, long executionTime, Hook hook) {
        // Command hooks' answers reach onResponse through the dispatcher; only the message's end does not.
        if (hook instanceof MessageHook || hook instanceof JamesMessageHook) {
            SMTPResponse answer = AbstractHookableCmdHandler.calcDefaultSMTPResponse(result);
            if (answer != null) {
                count(answer.getRetCode());
            }
        }
        return result;
    }

    private void count(String code) {
        if (code != null && !code.isEmpty()) {
            Metric counter = counters.get(code.charAt(0));
            if (counter != null) {
                counter.increment();
            }
        }
    }
}
