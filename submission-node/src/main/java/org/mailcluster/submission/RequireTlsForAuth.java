package org.mailcluster.submission;

import java.util.Collection;
import java.util.List;

import org.apache.james.protocols.api.Request;
import org.apache.james.protocols.api.Response;
import org.apache.james.protocols.api.handler.CommandHandler;
import org.apache.james.protocols.smtp.SMTPResponse;
import org.apache.james.protocols.smtp.SMTPSession;

/**
 * Refuses AUTH until the connection is encrypted (STARTTLS on 587; 465 is TLS from the start),
 * so that no password ever crosses the network in clear text.
 *
 * <p>Needed because James 3.8.1's {@code auth.requireSSL} only hides AUTH from the EHLO
 * answer: its AUTH command handler still accepts PLAIN and LOGIN on a clear-text connection.
 * Listed before James's core handlers in {@code smtpserver.xml}, this handler answers first;
 * on an encrypted connection it answers nothing and James's handler does the authentication.
 */
public class RequireTlsForAuth implements CommandHandler<SMTPSession> {

    @Override
    public Response onCommand(SMTPSession session, Request request) {
        if (session.isTLSStarted()) {
            return null;
        }
        return new SMTPResponse("538", "5.7.11 Encryption required: issue STARTTLS before AUTH");
    }

    @Override
    public Collection<String> getImplCommands() {
        return List.of("AUTH");
    }
}
