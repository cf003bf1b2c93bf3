package org.mailcluster.queue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.time.Duration;
import java.util.UUID;

import javax.inject.Inject;
import javax.mail.internet.MimeMessage;

import org.apache.james.blob.api.BlobId;
import org.apache.james.blob.api.BlobStore;
import org.apache.james.blob.api.BucketName;
import org.apache.james.blob.api.ObjectNotFoundException;
import org.apache.james.blob.api.Store;
import org.apache.james.blob.mail.MimeMessagePartsId;
import org.apache.james.blob.mail.MimeMessageStore;
import org.apache.james.server.core.MimeMessageSource;
import org.apache.james.server.core.MimeMessageWrapper;
import org.reactivestreams.Publisher;

import reactor.core.publisher.Mono;

/**
 * The message stores of queued mail: James's, except that reading a message whose blobs are
 * gone fails with {@link ObjectNotFoundException}.
 *
 * <p>Why: the RabbitMQ mail queue dead-letters a reference whose blobs are gone, but only when
 * loading it fails with that exception. The blobs of a queued mail are deleted right after its
 * acknowledgement; when a broker restart loses the acknowledgement, the broker redelivers the
 * (already handled) reference. James's loader then failed differently: the spooler subscribes
 * with {@code onErrorContinue}, which silently drops the read error of one blob, and the
 * message decoder then fails with an {@code IllegalArgumentException}, which the queue retries
 * by requeueing, thousands of times a second and for ever (seen in chaos runs). Reading both
 * blobs here, each in a plain {@code Mono}, makes the error arrive as itself. Each blob is read
 * once: an earlier version checked that both existed and then let James's store read them
 * again, four of the thirteen blob reads a delivered message cost Cassandra
 * (docs/benchmarks/profile.md).
 *
 * <p>Any other read failure (Cassandra unreachable) is reported after {@link #READ_FAILURE_PAUSE}:
 * the queue requeues a mail it could not load at once, and the broker hands it straight back,
 * so without a pause every consumer spins through its unacknowledged mail, logging a stack
 * trace each time, for as long as Cassandra is away (about 200 MB of log a minute per node in a
 * chaos run). The pause bounds that to the consumer's prefetch per pause.
 */
public class QueuedMessageStores extends MimeMessageStore.Factory {

    /** How long a failed read of a queued mail waits before the queue hears of it and requeues the mail. */
    static final Duration READ_FAILURE_PAUSE = Duration.ofSeconds(5);

    private final BlobStore blobStore;

    @Inject
    public QueuedMessageStores(BlobStore blobStore) {
        super(blobStore);
        this.blobStore = blobStore;
    }

    @Override
    public Store<MimeMessage, MimeMessagePartsId> mimeMessageStore(BucketName bucketName) {
        Store<MimeMessage, MimeMessagePartsId> store = super.mimeMessageStore(bucketName);
        return new Store<>() {
            @Override
            public Mono<MimeMessagePartsId> save(MimeMessage message) {
                return store.save(message);
            }

            @Override
            public Mono<MimeMessage> read(MimeMessagePartsId ids) {
                return Mono.zip(readBlob(bucketName, ids.getHeaderBlobId()), readBlob(bucketName, ids.getBodyBlobId()))
                    .<MimeMessage>map(parts -> new MimeMessageWrapper(new QueuedMessageSource(parts.getT1(), parts.getT2())))
                    .onErrorResume(failure -> !(failure instanceof ObjectNotFoundException),
                        failure -> Mono.delay(READ_FAILURE_PAUSE).then(Mono.error(failure)));
            }

            @Override
            public Publisher<Void> delete(MimeMessagePartsId ids) {
                return store.delete(ids);
            }
        };
    }

    /** A blob's bytes; a blob that is gone fails with {@link ObjectNotFoundException}, whatever wraps it. */
    private Mono<byte[]> readBlob(BucketName bucketName, BlobId blobId) {
        return Mono.from(blobStore.readBytes(bucketName, blobId))
            .switchIfEmpty(Mono.error(() -> new ObjectNotFoundException("blob " + blobId.asString() + " is gone")))
            .onErrorMap(failure -> !(failure instanceof ObjectNotFoundException), failure -> {
                for (Throwable cause = failure.getCause(); cause != null; cause = cause.getCause()) {
                    if (cause instanceof ObjectNotFoundException) {
                        return cause;
                    }
                }
                return new IllegalStateException("Could not read blob " + blobId.asString(), failure);
            });
    }

    /** A queued message as its two blobs' bytes, header then body, as James's store writes them. */
    private static final class QueuedMessageSource implements MimeMessageSource {
        private final byte[] header;
        private final byte[] body;
        private final String sourceId = UUID.randomUUID().toString();

        QueuedMessageSource(byte[] header, byte[] body) {
            this.header = header;
            this.body = body;
        }

        @Override
        public String getSourceId() {
            return sourceId;
        }

        @Override
        public InputStream getInputStream() {
            return new SequenceInputStream(new ByteArrayInputStream(header), new ByteArrayInputStream(body));
        }

        @Override
        public long getMessageSize() {
            return header.length + body.length;
        }
    }
}
