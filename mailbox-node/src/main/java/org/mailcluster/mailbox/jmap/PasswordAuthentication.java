package org.mailcluster.mailbox.jmap;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.core.Username;
import org.apache.james.jmap.http.AuthenticationChallenge;
import org.apache.james.jmap.http.AuthenticationScheme;
import org.apache.james.jmap.http.AuthenticationStrategy;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.MailboxSession;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.util.ReactorUtils;

import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerRequest;

/**
 * JMAP clients log in with their mail address and password (HTTP Basic, RFC 7617), checked
 * against the cluster's users, as IMAP and submission do.
 *
 * <p>Why not James's {@code BasicAuthenticationStrategy}: in 3.8.1 it ignores any header whose
 * Base64 contains {@code +} or {@code /}, which most passwords with a non-ASCII letter, and
 * many with a {@code >}, {@code ?} or {@code ~}, produce: those users got a 401 with the right
 * password. This one decodes standard Base64.
 */
public class PasswordAuthentication implements AuthenticationStrategy {
    private static final String SCHEME = "Basic ";

    private final UsersRepository users;
    private final MailboxManager mailboxes;

    @Inject
    public PasswordAuthentication(UsersRepository users, MailboxManager mailboxes) {
        this.users = users;
        this.mailboxes = mailboxes;
    }

    @Override
    public Mono<MailboxSession> createMailboxSession(HttpServerRequest request) {
        return Mono.fromCallable(() -> credentials(authHeaders(request)))
            .flatMap(Mono::justOrEmpty)
            .filterWhen(credentials -> Mono.fromCallable(() -> users.test(credentials.user(), credentials.password()))
                .subscribeOn(ReactorUtils.BLOCKING_CALL_WRAPPER))
            .flatMap(credentials -> Mono.fromCallable(() -> mailboxes.authenticate(credentials.user()).withoutDelegation()));
    }

    @Override
    public AuthenticationChallenge correspondingChallenge() {
        return AuthenticationChallenge.of(AuthenticationScheme.of("Basic"), Map.of("realm", "mail"));
    }

    private record Credentials(Username user, String password) {
    }

    /** Empty for a missing or malformed header: the client then gets 401, not an error. */
    private static Optional<Credentials> credentials(String header) {
        if (header == null || header.length() <= SCHEME.length() || !header.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            return Optional.empty();
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(header.substring(SCHEME.length()).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException notBase64) {
            return Optional.empty();
        }
        int colon = decoded.indexOf(':');
        if (colon <= 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Credentials(Username.of(decoded.substring(0, colon)), decoded.substring(colon + 1)));
        } catch (IllegalArgumentException invalidAddress) {
            return Optional.empty();
        }
    }
}
