package org.mailcluster.webadmin;

import java.io.FileNotFoundException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.inject.Singleton;

import org.apache.commons.configuration2.Configuration;
import org.apache.james.utils.PropertiesProvider;
import org.apache.james.webadmin.authentication.AuthenticationFilter;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;

/**
 * Overrides James's webadmin authentication (none, or JWT) with a shared secret read from the
 * file that {@code webadmin.properties} names in {@code secret.file}. A node whose webadmin is
 * enabled without a readable secret refuses to start: webadmin is never open.
 */
public class WebAdminSecurityModule extends AbstractModule {

    @Provides
    @Singleton
    AuthenticationFilter sharedSecret(PropertiesProvider properties) throws Exception {
        Configuration webadmin;
        try {
            webadmin = properties.getConfiguration("webadmin");
        } catch (FileNotFoundException disabled) {
            // No webadmin.properties: James does not start webadmin at all; nothing to protect.
            return (request, response) -> spark.Spark.halt(401);
        }
        String file = webadmin.getString("secret.file", "");
        if (file.isBlank() || !Files.isReadable(Path.of(file))) {
            throw new IllegalStateException("webadmin.properties: secret.file must name a readable file holding the webadmin secret (was '"
                + file + "')");
        }
        return new SharedSecretAuthenticationFilter(Files.readString(Path.of(file), StandardCharsets.UTF_8).trim());
    }
}
