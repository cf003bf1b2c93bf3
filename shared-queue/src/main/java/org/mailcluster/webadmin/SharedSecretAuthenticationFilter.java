package org.mailcluster.webadmin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.apache.james.webadmin.authentication.AuthenticationFilter;

import spark.Request;
import spark.Response;
import spark.Spark;

/**
 * Webadmin answers only requests carrying {@code Authorization: Bearer <secret>}, the secret
 * being read from a file (a Kubernetes Secret, or var/secrets locally). Anything else gets 401
 * before any route runs. The secret is compared in constant time and never logged.
 */
public class SharedSecretAuthenticationFilter implements AuthenticationFilter {

    private static final String PREFIX = "Bearer ";

    private final byte[] secret;

    public SharedSecretAuthenticationFilter(String secret) {
        if (secret == null || secret.length() < 16) {
            throw new IllegalArgumentException("the webadmin secret must be at least 16 characters long");
        }
        this.secret = secret.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void handle(Request request, Response response) {
        String header = request.headers("Authorization");
        boolean authorized = header != null && header.startsWith(PREFIX)
            && MessageDigest.isEqual(secret, header.substring(PREFIX.length()).trim().getBytes(StandardCharsets.UTF_8));
        if (!authorized) {
            response.header("WWW-Authenticate", "Bearer realm=\"webadmin\"");
            Spark.halt(401, "{\"statusCode\":401,\"type\":\"InvalidArgument\",\"message\":\"missing or invalid credentials\"}");
        }
    }
}
