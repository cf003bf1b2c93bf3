package org.mailcluster.cluster;

import java.util.UUID;

import org.mailcluster.testing.ClusterEndpoints;

/** A user made for one test class, with a name no other run shares, created through webadmin. */
record TestUser(String address, String password) {

    static TestUser create(ClusterEndpoints cluster, String prefix) {
        TestUser user = new TestUser(prefix + "-" + UUID.randomUUID().toString().substring(0, 8) + "@" + cluster.domain(),
            "pw-" + UUID.randomUUID());
        new WebAdmin(cluster).createUser(user.address(), user.password());
        return user;
    }

    Mailbox inbox(ClusterEndpoints cluster) {
        return new Mailbox(cluster.imap(), address, password);
    }
}
