package org.mailcluster.submission;

import org.apache.james.core.MaybeSender;
import org.apache.james.protocols.smtp.SMTPSession;
import org.apache.james.protocols.smtp.hook.HookResult;
import org.apache.james.protocols.smtp.hook.HookReturnCode;
import org.apache.james.protocols.smtp.hook.MailHook;

/**
 * A message submission agent takes mail only from authenticated users (RFC 6409 4.3): without
 * AUTH, MAIL FROM is refused with 530, whatever the recipients, so the submission port can be
 * used neither to relay nor to inject unauthenticated mail for local users (that is the MX's job).
 */
public class RequireAuthentication implements MailHook {

    @Override
    public HookResult doMail(SMTPSession session, MaybeSender sender) {
        if (session.getUsername() != null) {
            return HookResult.DECLINED;
        }
        return HookResult.builder()
            .hookReturnCode(HookReturnCode.deny())
            .smtpReturnCode("530")
            .smtpDescription("5.7.0 Authentication required")
            .build();
    }
}
