package org.mailcluster.backends;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small table shared by every node through Cassandra and read from memory (the routing
 * table, DKIM keys, per-destination limits): read at start and again every {@code period}, so a
 * change made through any node's webadmin reaches every node within that time, and mail is
 * handled without a Cassandra read.
 *
 * <p>If a reload fails (Cassandra restarting), the node keeps what it read before and says so
 * once in its log. A node that never read the table answers the exception
 * {@code unavailable} makes, so callers defer mail rather than act as if the table were empty.
 */
public final class PeriodicallyReloaded<T> {
    private static final Logger LOGGER = LoggerFactory.getLogger(PeriodicallyReloaded.class);

    private final String what;
    private final Supplier<T> load;
    private final Function<RuntimeException, RuntimeException> unavailable;
    private final ScheduledExecutorService reloader;
    private volatile T current;
    private volatile RuntimeException lastFailure;

    /**
     * @param what        what is read, for the log and the reloading thread's name ("the routing table")
     * @param unavailable the exception for a caller when nothing was read yet, given the last failure (may be null)
     */
    public PeriodicallyReloaded(String what, Duration period, Supplier<T> load,
                                Function<RuntimeException, RuntimeException> unavailable) {
        this.what = what;
        this.load = load;
        this.unavailable = unavailable;
        reload();
        this.reloader = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "reload " + what);
            thread.setDaemon(true);
            return thread;
        });
        reloader.scheduleWithFixedDelay(this::reload, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** What was read last; throws {@code unavailable}'s exception if nothing was read yet. */
    public T get() {
        T value = current;
        if (value == null) {
            throw unavailable.apply(lastFailure);
        }
        return value;
    }

    /** Reads again now (after this node changed the table); a failure is the caller's. */
    public void reloadOrFail() {
        current = load.get();
        lastFailure = null;
    }

    public void stop() {
        reloader.shutdownNow();
    }

    private void reload() {
        try {
            reloadOrFail();
        } catch (RuntimeException e) {
            if (lastFailure == null) {
                LOGGER.warn("could not read {} ({}); using what was read before", what, e.toString());
            }
            lastFailure = e;
        }
    }
}
