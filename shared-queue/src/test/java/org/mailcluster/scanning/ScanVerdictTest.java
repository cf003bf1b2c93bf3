package org.mailcluster.scanning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.mailcluster.scanning.ScanVerdict.Answer;
import org.mailcluster.scanning.ScanVerdict.Decision;

class ScanVerdictTest {
    static final Answer<Optional<String>> CLEAN = Answer.of(Optional.empty());
    static final Answer<Optional<String>> VIRUS = Answer.of(Optional.of("Eicar-Test-Signature"));
    static final Answer<Optional<String>> CLAMD_DOWN = Answer.unavailable("connection refused");

    static Answer<RspamdClient.Result> rspamd(String action, double score) {
        return Answer.of(new RspamdClient.Result(action, score, 15, List.of("SYMBOL")));
    }

    static final Answer<RspamdClient.Result> RSPAMD_DOWN = Answer.unavailable("timed out");

    @Test
    void aVirusIsRefusedWhateverRspamdSays() {
        for (Answer<RspamdClient.Result> spam : List.of(rspamd("no action", 0), rspamd("reject", 20), RSPAMD_DOWN)) {
            ScanVerdict verdict = ScanVerdict.decide(VIRUS, false, spam, false);
            assertThat(verdict.decision()).isEqualTo(Decision.REFUSE_VIRUS);
            assertThat(verdict.reply()).startsWith("554 5.7.1").contains("Eicar-Test-Signature");
        }
    }

    @Test
    void rspamdsRejectIsRefusedEvenWithClamdDown() {
        ScanVerdict verdict = ScanVerdict.decide(CLAMD_DOWN, false, rspamd("reject", 1000), false);
        assertThat(verdict.decision()).isEqualTo(Decision.REFUSE_SPAM);
        assertThat(verdict.reply()).isEqualTo("550 5.7.1 Message refused as spam (score 1000.0, refused from 15.0)");
    }

    @Test
    void aScannerDownMeans451UnlessItIsFailOpen() {
        assertThat(ScanVerdict.decide(CLAMD_DOWN, false, rspamd("no action", 1), false).reply()).startsWith("451 4.7.1").contains("virus scanner");
        assertThat(ScanVerdict.decide(CLEAN, false, RSPAMD_DOWN, false).reply()).startsWith("451 4.7.1").contains("spam scanner");
        ScanVerdict open = ScanVerdict.decide(CLAMD_DOWN, true, RSPAMD_DOWN, true);
        assertThat(open.decision()).isEqualTo(Decision.ACCEPT);
        assertThat(open.headers()).containsEntry("X-Virus-Scanned", "not scanned, virus scanner unavailable (fail-open)")
            .containsEntry("X-Spam-Status", "Unknown, spam scanner unavailable (fail-open)");
        assertThat(open.summary()).contains("fail-open");
    }

    @Test
    void belowTheRejectThresholdTheVerdictIsInTheHeaders() {
        ScanVerdict ham = ScanVerdict.decide(CLEAN, false, rspamd("no action", 0.9), false);
        assertThat(ham.decision()).isEqualTo(Decision.ACCEPT);
        assertThat(ham.headers()).containsEntry("X-Spam", "No")
            .containsEntry("X-Spam-Status", "No, score=0.90 required=15.00 action=no action")
            .containsEntry("X-Virus-Scanned", "ClamAV, clean");
        for (String action : List.of("add header", "rewrite subject", "soft reject")) {
            ScanVerdict spam = ScanVerdict.decide(CLEAN, false, rspamd(action, 8), false);
            assertThat(spam.decision()).as(action).isEqualTo(Decision.ACCEPT_AS_SPAM);
            assertThat(spam.headers()).containsEntry("X-Spam", "Yes");
        }
    }

    @Test
    void aScannerNotConfiguredLetsMailThroughSaysSo() {
        ScanVerdict verdict = ScanVerdict.decide(Answer.notConfigured(), false, Answer.notConfigured(), false);
        assertThat(verdict.decision()).isEqualTo(Decision.ACCEPT);
        assertThat(verdict.headers()).containsEntry("X-Virus-Scanned", "not scanned, no virus scanner configured");
    }

    @Test
    void theOutboundPolicyRefusesFromItsOwnScore() {
        ScanVerdict.Policy outbound = ScanVerdict.Policy.outbound(10);
        ScanVerdict refused = ScanVerdict.decide(CLEAN, false, rspamd("add header", 10), false, outbound);
        assertThat(refused.decision()).isEqualTo(Decision.REFUSE_SPAM);
        assertThat(refused.reply()).isEqualTo("550 5.7.1 Message not sent: it looks like spam (score 10.0, the limit is 10.0); nothing was sent");
        assertThat(ScanVerdict.decide(CLEAN, false, rspamd("add header", 9.9), false, outbound).decision()).isEqualTo(Decision.ACCEPT_AS_SPAM);
        assertThat(ScanVerdict.decide(VIRUS, false, rspamd("no action", 0), false, outbound).reply())
            .isEqualTo("554 5.7.1 Message not sent: it contains a virus (Eicar-Test-Signature)");
        // Inbound, the same score 10 is below rspamd's reject threshold.
        assertThat(ScanVerdict.decide(CLEAN, false, rspamd("add header", 10), false).decision()).isEqualTo(Decision.ACCEPT_AS_SPAM);
    }

    @Test
    void aDmarcRejectIsRefusedSayingSoAndAuthenticationResultsAreKept() {
        Answer<RspamdClient.Result> dmarc = Answer.of(new RspamdClient.Result("reject", 15, 15,
            List.of("DMARC_POLICY_REJECT", "R_SPF_FAIL"), java.util.Map.of()));
        assertThat(ScanVerdict.decide(CLEAN, false, dmarc, false).reply()).startsWith("550 5.7.1").contains("DMARC");
        Answer<RspamdClient.Result> pass = Answer.of(new RspamdClient.Result("no action", 0, 15, List.of("R_SPF_ALLOW"),
            java.util.Map.of("Authentication-Results", "mx1.mail.test; spf=pass smtp.mailfrom=a@spf-pass.test")));
        assertThat(ScanVerdict.decide(CLEAN, false, pass, false).headers())
            .containsEntry("Authentication-Results", "mx1.mail.test; spf=pass smtp.mailfrom=a@spf-pass.test");
    }

    @Test
    void rspamdsHeadersAreRead() throws Exception {
        RspamdClient.Result result = RspamdClient.parse("{\"score\":0,\"required_score\":15,\"action\":\"no action\","
            + "\"milter\":{\"add_headers\":{\"Authentication-Results\":{\"value\":\"x; spf=pass\",\"order\":0},"
            + "\"X-Plain\":\"plain\",\"X-List\":[{\"value\":\"first\"}]},\"remove_headers\":{\"Authentication-Results\":1}}}");
        assertThat(result.addHeaders()).containsEntry("Authentication-Results", "x; spf=pass")
            .containsEntry("X-Plain", "plain").containsEntry("X-List", "first");
    }

    @Test
    void clamdAnswersAreRead() throws Exception {
        assertThat(ClamdClient.parse("stream: OK")).isEmpty();
        assertThat(ClamdClient.parse("stream: Eicar-Test-Signature.UNOFFICIAL FOUND")).contains("Eicar-Test-Signature.UNOFFICIAL");
        assertThatThrownBy(() -> ClamdClient.parse("INSTREAM size limit exceeded. ERROR")).isInstanceOf(ScannerUnavailable.class);
    }

    @Test
    void rspamdAnswersAreRead() throws Exception {
        RspamdClient.Result result = RspamdClient.parse("{\"is_skipped\":false,\"score\":8.9,\"required_score\":15.0,"
            + "\"action\":\"add header\",\"symbols\":{\"B\":{\"score\":8},\"A\":{\"score\":0.9}}}");
        assertThat(result).isEqualTo(new RspamdClient.Result("add header", 8.9, 15.0, List.of("A", "B")));
        assertThatThrownBy(() -> RspamdClient.parse("{\"error\":\"bad request\"}")).isInstanceOf(ScannerUnavailable.class);
        assertThatThrownBy(() -> RspamdClient.parse("<html>")).isInstanceOf(ScannerUnavailable.class);
    }
}
