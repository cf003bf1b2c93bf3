package org.mailcluster.scanning;

import javax.inject.Singleton;

import org.apache.james.core.healthcheck.HealthCheck;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.Multibinder;

/** The scanners of a node that takes mail over SMTP (MX, backup MX, submission), and their health. */
public class ScanningModule extends AbstractModule {
    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), HealthCheck.class).addBinding().to(ScannersHealthCheck.class);
    }

    @Provides
    @Singleton
    Scanners scanners() {
        return Scanners.fromEnvironment(System.getenv());
    }
}
