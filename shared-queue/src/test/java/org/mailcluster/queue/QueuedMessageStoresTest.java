package org.mailcluster.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import javax.mail.Session;
import javax.mail.internet.MimeMessage;

import org.apache.james.blob.api.BlobStore;
import org.apache.james.blob.api.BucketName;
import org.apache.james.blob.api.HashBlobId;
import org.apache.james.blob.api.ObjectNotFoundException;
import org.apache.james.blob.api.Store;
import org.apache.james.blob.mail.MimeMessagePartsId;
import org.apache.james.blob.memory.MemoryBlobStoreFactory;
import org.junit.jupiter.api.Test;

import reactor.core.publisher.Mono;

/** Reading queued mail: the message as it was saved, and a clear "gone" when its blobs are. */
class QueuedMessageStoresTest {

    static final String MESSAGE = "Received: from a.example by mx.example\r\n"
        + "From: a@a.example\r\nTo: b@b.example\r\nSubject: queued\r\nMessage-ID: <q1@a.example>\r\n"
        + "Content-Type: text/plain\r\n\r\nline one\r\nline two\r\n";

    final BlobStore blobStore = MemoryBlobStoreFactory.builder()
        .blobIdFactory(new HashBlobId.Factory())
        .defaultBucketName()
        .passthrough();
    final Store<MimeMessage, MimeMessagePartsId> store =
        new QueuedMessageStores(blobStore).mimeMessageStore(BucketName.DEFAULT);

    static MimeMessage parse(String text) throws Exception {
        return new MimeMessage(Session.getInstance(new java.util.Properties()),
            new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)));
    }

    static String bytes(MimeMessage message) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        message.writeTo(out);
        return out.toString(StandardCharsets.US_ASCII);
    }

    @Test
    void readsBackTheMessageItSaved() throws Exception {
        MimeMessagePartsId ids = store.save(parse(MESSAGE)).block();

        MimeMessage read = store.read(ids).block();

        assertThat(bytes(read)).isEqualTo(MESSAGE);
        assertThat(read.getSubject()).isEqualTo("queued");
    }

    @Test
    void aMessageWhoseBlobsAreGoneFailsAsNotFoundAtOnce() throws Exception {
        MimeMessagePartsId ids = store.save(parse(MESSAGE)).block();
        Mono.from(store.delete(ids)).block();

        // at once: the queue dead-letters on this exception; the pause is for other failures
        assertThatThrownBy(() -> store.read(ids).block(Duration.ofSeconds(2)))
            .isInstanceOf(ObjectNotFoundException.class);
    }

    @Test
    void aMessageWhoseBodyAloneIsGoneFailsAsNotFoundToo() throws Exception {
        MimeMessagePartsId ids = store.save(parse(MESSAGE)).block();
        Mono.from(blobStore.delete(BucketName.DEFAULT, ids.getBodyBlobId())).block();

        assertThatThrownBy(() -> store.read(ids).block(Duration.ofSeconds(2)))
            .isInstanceOf(ObjectNotFoundException.class);
    }
}
