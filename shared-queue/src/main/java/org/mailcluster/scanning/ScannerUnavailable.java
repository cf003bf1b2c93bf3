package org.mailcluster.scanning;

/** A scanner did not answer (down, refused, timed out, or answered something unreadable). */
public class ScannerUnavailable extends Exception {
    public ScannerUnavailable(String message, Throwable cause) {
        super(message, cause);
    }

    public ScannerUnavailable(String message) {
        super(message);
    }
}
