package org.mailcluster.scanning;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * clamd's INSTREAM protocol over TCP: {@code zINSTREAM\0}, the message in chunks (each a
 * 4-byte big-endian length and its bytes), a zero-length chunk, then one answer:
 * {@code stream: OK}, {@code stream: NAME FOUND} or {@code ... ERROR}.
 */
public class ClamdClient {
    private static final int CHUNK = 64 * 1024;

    private final InetSocketAddress address;
    private final Duration timeout;

    public ClamdClient(InetSocketAddress address, Duration timeout) {
        this.address = address;
        this.timeout = timeout;
    }

    public InetSocketAddress address() {
        return address;
    }

    /** The name of the virus found in {@code message}, or empty when it is clean. */
    public Optional<String> scan(byte[] message) throws ScannerUnavailable {
        String answer;
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            ByteArrayOutputStream request = new ByteArrayOutputStream(message.length + 64);
            DataOutputStream data = new DataOutputStream(request);
            data.write("zINSTREAM\0".getBytes(StandardCharsets.US_ASCII));
            for (int offset = 0; offset < message.length; offset += CHUNK) {
                int length = Math.min(CHUNK, message.length - offset);
                data.writeInt(length);
                data.write(message, offset, length);
            }
            data.writeInt(0);
            out.write(request.toByteArray());
            out.flush();
            answer = readAnswer(socket.getInputStream());
        } catch (IOException e) {
            throw new ScannerUnavailable("clamd at " + address + ": " + e.getMessage(), e);
        }
        return parse(answer);
    }

    /** clamd's PING: true when it answers PONG. */
    public boolean ping() {
        try (Socket socket = connect()) {
            socket.getOutputStream().write("zPING\0".getBytes(StandardCharsets.US_ASCII));
            return "PONG".equals(readAnswer(socket.getInputStream()));
        } catch (IOException e) {
            return false;
        }
    }

    static Optional<String> parse(String answer) throws ScannerUnavailable {
        String verdict = answer.startsWith("stream: ") ? answer.substring("stream: ".length()) : answer;
        if (verdict.equals("OK")) {
            return Optional.empty();
        }
        if (verdict.endsWith(" FOUND")) {
            return Optional.of(verdict.substring(0, verdict.length() - " FOUND".length()));
        }
        throw new ScannerUnavailable("clamd answered: " + answer);
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(address, (int) Math.min(timeout.toMillis(), 5000));
        socket.setSoTimeout((int) timeout.toMillis());
        return socket;
    }

    private static String readAnswer(InputStream in) throws IOException {
        ByteArrayOutputStream answer = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1 && c != 0) {
            if (answer.size() > 4096) {
                throw new IOException("clamd's answer is too long");
            }
            answer.write(c);
        }
        return answer.toString(StandardCharsets.UTF_8).trim();
    }
}
