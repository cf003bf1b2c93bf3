package org.mailcluster.mailbox.pop3;

import java.util.Collection;
import java.util.List;

import org.apache.james.protocols.api.Request;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.CommandHandler;
import org.apache.james.protocols.pop3.POP3Response;
import org.apache.james.protocols.pop3.POP3Session;

/**
 * Refuses USER and PASS until the connection is encrypted (STLS on 110; 995 is TLS from the
 * first byte), so no password crosses the network in clear text, as IMAP's
 * {@code plainAuthDisallowed} does on 143.
 *
 * <p>Needed because James 3.8.1's POP3 server has no such setting: it offers STLS but takes a
 * password without it. Listed before James's core handlers in {@code pop3server.xml}, this
 * handler answers first; on an encrypted connection it answers nothing and James's handlers
 * log the user in. The {@code [AUTH]} code is RFC 3206's.
 */
public class RequireTlsForLogin implements CommandHandler<POP3Session> {

    @Override
    public Response onCommand(POP3Session session, Request request) {
        if (session.isTLSStarted()) {
            return null;
        }
        return new POP3Response(POP3Response.ERR_RESPONSE,
            "[AUTH] Plain-text login is disallowed on an unencrypted connection: issue STLS first");
    }

    @Override
    public Collection<String> getImplCommands() {
        return List.of("USER", "PASS", "APOP");
    }
}
