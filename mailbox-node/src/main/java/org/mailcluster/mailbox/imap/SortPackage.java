package org.mailcluster.mailbox.imap;

import javax.inject.Inject;

import org.apache.james.modules.protocols.ImapPackage;
import org.apache.james.utils.ClassName;

import com.google.common.collect.ImmutableList;

/**
 * The SORT command as an IMAP package, listed after James's default package in
 * {@code imapserver.xml} ({@code <imapPackages>}).
 */
public class SortPackage extends ImapPackage.Impl {
    @Inject
    public SortPackage() {
        super(ImmutableList.of(new ClassName(SortProcessor.class.getName())),
            ImmutableList.of(new ClassName(SortCommandParser.class.getName())),
            ImmutableList.of(new ClassName(SortResponseEncoder.class.getName())));
    }
}
