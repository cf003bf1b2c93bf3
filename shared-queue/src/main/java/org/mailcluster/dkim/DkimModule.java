package org.mailcluster.dkim;

import java.nio.file.Path;
import java.util.Optional;

import javax.inject.Singleton;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.webadmin.Routes;

import com.datastax.oss.driver.api.core.CqlSession;
import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.Multibinder;

/**
 * DKIM keys on every node type: their Cassandra table, the copy each node signs from
 * ({@link DkimKeys}) and their webadmin routes ({@link DkimKeyRoutes}). The submission tier's
 * {@link DkimSign} mailet signs with them.
 *
 * <p>Configuration: {@code MC_DKIM_KEYS}, the directory of key files
 * ({@code DOMAIN/SELECTOR.pem}); unset, only keys added through webadmin exist.
 */
public class DkimModule extends AbstractModule {
    public static final String KEYS_DIRECTORY_ENV = "MC_DKIM_KEYS";

    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), CassandraModule.class).addBinding().toInstance(DkimKeys.MODULE);
        Multibinder.newSetBinder(binder(), Routes.class).addBinding().to(DkimKeyRoutes.class);
    }

    @Provides
    @Singleton
    DkimKeys keys(CqlSession session) {
        return new DkimKeys(session, Optional.ofNullable(System.getenv(KEYS_DIRECTORY_ENV))
            .filter(dir -> !dir.isBlank())
            .map(Path::of));
    }
}
