package org.mailcluster.cluster;

import java.io.IOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.util.List;
import java.security.cert.X509Certificate;

import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import org.apache.commons.net.smtp.AuthenticatingSMTPClient;
import org.apache.commons.net.smtp.SMTPReply;

/**
 * One SMTP session with a real client (Apache commons-net), keeping every reply code so
 * tests assert what a sending MTA or a mail client sees.
 */
final class Smtp implements AutoCloseable {

    /** The local cluster's certificate is self-signed; tests check TLS is used, not who signed it. */
    static final TrustManager TRUST_SELF_SIGNED = new X509TrustManager() {
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    };

    final AuthenticatingSMTPClient client;

    private Smtp(AuthenticatingSMTPClient client) {
        this.client = client;
    }

    static Smtp connect(InetSocketAddress server) throws IOException {
        return connect(server, false);
    }

    /** A connection from a chosen local address (any 127.x.y.z on loopback), as another client host. */
    static Smtp connectFrom(InetSocketAddress server, java.net.InetAddress local) throws IOException {
        return open(server, false, local);
    }

    static Smtp connect(InetSocketAddress server, boolean implicitTls) throws IOException {
        return open(server, implicitTls, null);
    }

    /** @param local the local address to connect from, or null for the system's choice */
    private static Smtp open(InetSocketAddress server, boolean implicitTls, java.net.InetAddress local) throws IOException {
        AuthenticatingSMTPClient client = new AuthenticatingSMTPClient("TLS", implicitTls);
        client.setTrustManager(TRUST_SELF_SIGNED);
        client.setConnectTimeout(10_000);
        client.setDefaultTimeout(120_000);
        if (local == null) {
            client.connect(server.getAddress(), server.getPort());
        } else {
            client.connect(server.getAddress(), server.getPort(), local, 0);
        }
        client.setSoTimeout(120_000);
        if (!SMTPReply.isPositiveCompletion(client.getReplyCode())) {
            throw new IOException("greeting from " + server + ": " + client.getReplyString());
        }
        return new Smtp(client);
    }

    int ehlo(String name) throws IOException {
        return client.sendCommand("EHLO", name);
    }

    int startTls() throws IOException {
        return client.execTLS() ? 220 : client.getReplyCode();
    }

    int authPlain(String user, String password) throws Exception {
        client.auth(AuthenticatingSMTPClient.AUTH_METHOD.PLAIN, user, password);
        return client.getReplyCode();
    }

    int mailFrom(String sender) throws IOException {
        return client.sendCommand("MAIL FROM:<" + sender + ">");
    }

    int rcptTo(String recipient) throws IOException {
        return client.sendCommand("RCPT TO:<" + recipient + ">");
    }

    /** DATA with the message; returns the final reply code (250 = the server has taken it). */
    int data(String message) throws IOException {
        // sends DATA itself, and returns a writer only on 354
        Writer writer = client.sendMessageData();
        if (writer == null) {
            return client.getReplyCode();
        }
        writer.write(message);
        writer.close();
        client.completePendingCommand();
        return client.getReplyCode();
    }

    String lastReply() {
        return client.getReplyString();
    }

    /**
     * A whole transaction as a sending MTA makes it: after a 4xx or a broken connection, again
     * (on another of the servers, in turn) until a 250 or a 5xx, or until {@code patience} has
     * passed; returns the last reply code (0 when no server answered).
     */
    static int sendRetrying(List<InetSocketAddress> servers, String from, String to, String message, java.time.Duration patience)
            throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        int code = 0;
        for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
            try {
                code = send(servers.get(attempt % servers.size()), from, to, message);
                if (code == 250 || code >= 500) {
                    return code;
                }
            } catch (IOException brokenOrRefused) {
                code = 0;
            }
            Thread.sleep(1000);
        }
        return code;
    }

    /** A whole transaction; returns the final reply code, or the first failing one. */
    static int send(InetSocketAddress server, String from, String to, String message) throws IOException {
        try (Smtp smtp = connect(server)) {
            int code = smtp.ehlo("client.test");
            if (code != 250) {
                return code;
            }
            code = smtp.mailFrom(from);
            if (code != 250) {
                return code;
            }
            code = smtp.rcptTo(to);
            if (code != 250) {
                return code;
            }
            return smtp.data(message);
        }
    }

    @Override
    public void close() {
        try {
            if (client.isConnected()) {
                client.sendCommand("QUIT");
            }
        } catch (IOException ignored) {
            // the server may already be gone
        }
        try {
            client.disconnect();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
