package org.mailcluster.mx.smtp;

import java.util.Optional;

import javax.inject.Inject;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.smtp.SMTPRetCode;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.dsn.DSNStatus;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.RcptHook;
import org.mailcluster.routing.Route;
import org.mailcluster.routing.RoutingTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RCPT for routed recipients (the MX's {@code relay_domains} and {@code relay_recipient_maps}),
 * before James's checks of hosted users and relaying:
 * <ul>
 *   <li>an address with a route of its own is accepted, even when no user has it;</li>
 *   <li>a domain routed to a relay host or a catch-all mailbox accepts the local parts its
 *       route lists ({@code "recipients"}), or every local part when it lists none; others get
 *       {@code 550 5.1.1};</li>
 *   <li>anything else (hosted domains, whatever their mailbox tier; unknown domains) is left to
 *       the next handlers: unknown users get 550, other domains "relaying denied".</li>
 * </ul>
 * Accepting every local part of a relay domain means the MX accepts mail the relay host may
 * refuse later, and then sends a DSN to a sender that may be forged (backscatter): give the
 * route its recipient list where the relay host's users are known.
 */
public class RoutedRecipients implements RcptHook {
    private static final Logger LOGGER = LoggerFactory.getLogger(RoutedRecipients.class);

    private final RoutingTable routes;

    @Inject
    public RoutedRecipients(RoutingTable routes) {
        this.routes = routes;
    }

    @Override
    public HookResult doRcpt(SMTPSession session, MaybeSender sender, MailAddress recipient) {
        try {
            if (routes.addressRoute(recipient).isPresent()) {
                return HookResult.OK;
            }
            Optional<Route> domainRoute = routes.domainRoute(recipient.getDomain().asString());
            if (domainRoute.isEmpty() || domainRoute.get().destination() instanceof Route.MailboxTier) {
                return HookResult.DECLINED;
            }
            if (!domainRoute.get().lists(recipient.getLocalPart())) {
                LOGGER.info("Rejected RCPT {}: not in the recipients of its domain's route", recipient.asString());
                return HookResult.builder()
                    .hookReturnCode(HookReturnCode.deny())
                    .smtpReturnCode(SMTPRetCode.MAILBOX_PERM_UNAVAILABLE)
                    .smtpDescription(DSNStatus.getStatus(DSNStatus.PERMANENT, DSNStatus.ADDRESS_MAILBOX) + " Unknown user: " + recipient.asString())
                    .build();
            }
            return HookResult.OK;
        } catch (RuntimeException e) {
            LOGGER.warn("RCPT {}: the routing table could not be read ({}), deny-soft", recipient.asString(), e.toString());
            return HookResult.builder()
                .hookReturnCode(HookReturnCode.denySoft())
                .smtpReturnCode(SMTPRetCode.LOCAL_ERROR)
                .smtpDescription(DSNStatus.getStatus(DSNStatus.TRANSIENT, DSNStatus.UNDEFINED_STATUS) + " Temporary failure, try again later")
                .build();
        }
    }
}
