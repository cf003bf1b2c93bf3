package org.mailcluster.mx.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** DATA transparency: what the relay client writes for a message, line ends and dots included. */
class SmtpDataTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "Subject: a\\r\\n\\r\\nbody\\r\\n        | Subject: a\\r\\n\\r\\nbody\\r\\n.\\r\\n",
        "bare\\nline feeds\\n                    | bare\\r\\nline feeds\\r\\n.\\r\\n",
        "no final line end                       | no final line end\\r\\n.\\r\\n",
        ".leading dot\\r\\n..two\\r\\n             | ..leading dot\\r\\n...two\\r\\n.\\r\\n",
        "a\\r\\n.\\r\\nb\\r\\n                      | a\\r\\n..\\r\\nb\\r\\n.\\r\\n",
        "mid.dle dots. stay\\r\\n                 | mid.dle dots. stay\\r\\n.\\r\\n",
    })
    void messagesAreWrittenAsSmtpData(String message, String expected) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SmtpRelayClient.DataStream data = new SmtpRelayClient.DataStream(out);
        data.write(unescape(message).getBytes(StandardCharsets.US_ASCII));
        data.finish();
        assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo(unescape(expected));
    }

    private static String unescape(String text) {
        return text.trim().replace("\\r", "\r").replace("\\n", "\n");
    }
}
