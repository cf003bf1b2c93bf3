package org.mailcluster.queue;

/**
 * Names for mail that goes back to a queue to be tried again ({@code RetryLater}, relay
 * delivery): James appends to a mail's name at every copy ({@code -!NNNNNNN}) and refuses a
 * name with more than 7 copies in it ("Possible loop in config.xml"), which sent mail retried
 * a few times to the error repository. A retried mail is renamed before it is copied.
 */
public final class RetryNames {

    private RetryNames() {
    }

    /**
     * The name a mail tried again comes back under: the name it was received under (James's
     * {@code Mail<millis>-<UUID>}, without the {@code error-} prefixes and {@code -!NNN}
     * suffixes copies add), the attempt, and a few random characters so that two copies of one
     * reception (split by recipient) never share a name in a mail repository.
     */
    public static String retryName(String name, int attempt) {
        String received = name.replaceFirst("^(error-)+", "")
            .replaceFirst("(-d[0-9]+-[0-9a-f]{5})?(-![0-9]+)*$", "");
        // Short: James keeps at most 76 characters of a name, cutting from the front, and the
        // UUID must survive the suffixes the next passes add.
        return received + "-d" + attempt + "-" + Integer.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextInt(0x10000, 0x100000));
    }
}
