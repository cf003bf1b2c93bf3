package org.mailcluster.mx.relay;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.mail.MessagingException;
import javax.mail.internet.MimeMessage;

import org.apache.james.core.MailAddress;
import org.apache.james.core.MaybeSender;

/**
 * The SMTP and LMTP client of relay delivery (Postfix's smtp and lmtp clients, plain text on
 * the cluster's inside network): one transaction per call, with every recipient's own answer.
 * LMTP (RFC 2033) answers the end of DATA once per accepted recipient, so a mailbox server can
 * take the message for some recipients and not others; SMTP answers once for all.
 */
public final class SmtpRelayClient {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
    static final Duration READ_TIMEOUT = Duration.ofMinutes(5);

    private final String heloName;

    public SmtpRelayClient(String heloName) {
        this.heloName = heloName;
    }

    /** A server's reply: its code and its text (the lines joined). */
    public record Reply(int code, String text) {
        public boolean positive() {
            return code >= 200 && code < 400;
        }

        public boolean permanent() {
            return code >= 500;
        }

        @Override
        public String toString() {
            return code + " " + text;
        }
    }

    /** The end of one attempt on one host. */
    public sealed interface Outcome permits HostFailed, Answered {
    }

    /** The host could not take the transaction at all (unreachable, 4xx/5xx before RCPT): try the next host. */
    public record HostFailed(String reason, boolean permanent) implements Outcome {
    }

    /** The transaction reached RCPT: each recipient's answer (for a recipient accepted at RCPT, the answer to DATA). */
    public record Answered(Map<MailAddress, Reply> replies) implements Outcome {
    }

    public Outcome send(InetSocketAddress host, boolean lmtp, MaybeSender sender, List<MailAddress> recipients, MimeMessage message) {
        try (Socket socket = new Socket()) {
            socket.connect(host, (int) CONNECT_TIMEOUT.toMillis());
            socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
            Conversation smtp = new Conversation(new BufferedInputStream(socket.getInputStream()),
                new BufferedOutputStream(socket.getOutputStream()));
            Reply greeting = smtp.read();
            if (greeting.code() != 220) {
                return new HostFailed(host + " greeted with " + greeting, false);
            }
            Reply hello = smtp.command((lmtp ? "LHLO " : "EHLO ") + heloName);
            if (!lmtp && hello.permanent()) {
                hello = smtp.command("HELO " + heloName);
            }
            if (!hello.positive()) {
                return new HostFailed(host + " answered " + hello + " to " + (lmtp ? "LHLO" : "EHLO"), false);
            }
            Reply from = smtp.command("MAIL FROM:<" + sender.asString("") + ">");
            if (!from.positive()) {
                return new HostFailed(host + " answered " + from + " to MAIL FROM", from.permanent());
            }
            Map<MailAddress, Reply> replies = new LinkedHashMap<>();
            List<MailAddress> accepted = new ArrayList<>();
            for (MailAddress recipient : recipients) {
                Reply rcpt = smtp.command("RCPT TO:<" + recipient.asString() + ">");
                replies.put(recipient, rcpt);
                if (rcpt.positive()) {
                    accepted.add(recipient);
                }
            }
            if (accepted.isEmpty()) {
                smtp.quietly("QUIT");
                return new Answered(replies);
            }
            Reply data = smtp.command("DATA");
            if (data.code() != 354) {
                accepted.forEach(recipient -> replies.put(recipient, data));
                smtp.quietly("QUIT");
                return new Answered(replies);
            }
            smtp.writeMessage(message);
            if (lmtp) {
                for (MailAddress recipient : accepted) {
                    replies.put(recipient, smtp.read());
                }
            } else {
                Reply end = smtp.read();
                accepted.forEach(recipient -> replies.put(recipient, end));
            }
            smtp.quietly("QUIT");
            return new Answered(replies);
        } catch (IOException | MessagingException e) {
            return new HostFailed(host + ": " + e, false);
        }
    }

    private static final class Conversation {
        private final InputStream in;
        private final OutputStream out;

        Conversation(InputStream in, OutputStream out) {
            this.in = in;
            this.out = out;
        }

        Reply command(String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return read();
        }

        void quietly(String line) {
            try {
                command(line);
            } catch (IOException ignored) {
                // the transaction is over; a server that hangs up first changes nothing
            }
        }

        Reply read() throws IOException {
            StringBuilder text = new StringBuilder();
            while (true) {
                String line = readLine();
                if (line.length() < 3 || !Character.isDigit(line.charAt(0))) {
                    throw new IOException("not an SMTP reply: " + line);
                }
                if (text.length() > 0) {
                    text.append(' ');
                }
                text.append(line.length() > 4 ? line.substring(4) : "");
                if (line.length() == 3 || line.charAt(3) != '-') {
                    return new Reply(Integer.parseInt(line.substring(0, 3)), text.toString());
                }
            }
        }

        private String readLine() throws IOException {
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) != -1) {
                if (c == '\n') {
                    int end = line.length();
                    return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
                }
                if (line.length() > 4096) {
                    throw new IOException("reply line too long");
                }
                line.append((char) c);
            }
            throw new IOException("connection closed by the server");
        }

        void writeMessage(MimeMessage message) throws IOException, MessagingException {
            DataStream data = new DataStream(out);
            message.writeTo(data);
            data.finish();
            out.flush();
        }
    }

    /** DATA's transparency (RFC 5321 4.5.2): CRLF line ends, a leading dot doubled, then the final dot. */
    static final class DataStream extends FilterOutputStream {
        private int previous = '\n';
        private boolean lineStart = true;

        DataStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            if (b == '\n' && previous != '\r') {
                out.write('\r');
            }
            if (lineStart && b == '.') {
                out.write('.');
            }
            out.write(b);
            lineStart = b == '\n';
            previous = b;
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            for (int i = offset; i < offset + length; i++) {
                write(bytes[i]);
            }
        }

        void finish() throws IOException {
            if (!lineStart) {
                out.write('\r');
                out.write('\n');
            }
            out.write(".\r\n".getBytes(StandardCharsets.US_ASCII));
        }

        @Override
        public void close() {
            // the connection stays open for the reply
        }
    }
}
