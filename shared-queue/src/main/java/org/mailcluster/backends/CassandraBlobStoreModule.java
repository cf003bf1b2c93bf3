package org.mailcluster.backends;

import javax.inject.Named;
import javax.inject.Singleton;

import org.apache.james.backends.cassandra.components.CassandraModule;
import org.apache.james.blob.api.BlobId;
import org.apache.james.blob.api.BlobStore;
import org.apache.james.blob.api.BlobStoreDAO;
import org.apache.james.blob.api.BucketName;
import org.apache.james.blob.api.MetricableBlobStore;
import org.apache.james.blob.cassandra.CassandraBlobModule;
import org.apache.james.blob.cassandra.CassandraBlobStoreDAO;
import org.apache.james.server.blob.deduplication.PassThroughBlobStore;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Scopes;
import com.google.inject.multibindings.Multibinder;

/**
 * Message bodies in Cassandra. Queue payloads, mail repositories and mailboxes all keep their
 * blobs here, which is what lets a message enqueued by one node be dequeued by another.
 * No deduplication: a blob is deleted with what owns it, without a garbage collector.
 */
public class CassandraBlobStoreModule extends AbstractModule {

    @Override
    protected void configure() {
        Multibinder.newSetBinder(binder(), CassandraModule.class).addBinding().toInstance(CassandraBlobModule.MODULE);
        bind(CassandraBlobStoreDAO.class).in(Scopes.SINGLETON);
        bind(BlobStoreDAO.class).to(CassandraBlobStoreDAO.class);
        bind(BucketName.class).annotatedWith(com.google.inject.name.Names.named(BlobStore.DEFAULT_BUCKET_NAME_QUALIFIER))
            .toInstance(BucketName.DEFAULT);
    }

    /** What {@code BlobStoreAPIModule} wraps with metrics. */
    @Provides
    @Singleton
    @Named(MetricableBlobStore.BLOB_STORE_IMPLEMENTATION)
    BlobStore blobStore(BlobStoreDAO dao, @Named(BlobStore.DEFAULT_BUCKET_NAME_QUALIFIER) BucketName defaultBucket,
                        BlobId.Factory blobIdFactory) {
        return new PassThroughBlobStore(dao, defaultBucket, blobIdFactory);
    }
}
