package org.mailcluster.mailbox.search;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.apache.james.core.Username;
import org.apache.james.json.DTOModule;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.MailboxSession;
import org.apache.james.mailbox.MessageManager;
import org.apache.james.mailbox.MessageUid;
import org.apache.james.mailbox.model.ComposedMessageIdWithMetaData;
import org.apache.james.mailbox.model.MailboxId;
import org.apache.james.mailbox.model.MailboxMetaData;
import org.apache.james.mailbox.model.MessageRange;
import org.apache.james.mailbox.model.search.MailboxQuery;
import org.apache.james.mailbox.store.MailboxSessionMapperFactory;
import org.apache.james.mailbox.store.mail.MessageMapper;
import org.apache.james.server.task.json.dto.AdditionalInformationDTO;
import org.apache.james.server.task.json.dto.AdditionalInformationDTOModule;
import org.apache.james.task.Task;
import org.apache.james.task.TaskExecutionDetails;
import org.apache.james.task.TaskType;
import org.apache.james.user.api.UsersRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.annotation.JsonProperty;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Compares what the mailboxes hold (Cassandra) with what the search index holds, and repairs
 * the index: a message missing from it is indexed, one indexed at an older modseq (its flags
 * changed since) is indexed again, and a document whose message is gone (expunged) is removed.
 * Scope: the whole cluster, one user, or one mailbox.
 *
 * <p>Safe while mail flows: each mailbox's index documents are listed <em>before</em> its
 * messages, so a document found without a message belongs to a message expunged meanwhile,
 * never to one being delivered; and a message being delivered that the index does not show yet
 * is simply indexed twice (documents are keyed by mailbox and UID).
 */
public class IndexConsistencyTask implements Task {
    private static final Logger LOGGER = LoggerFactory.getLogger(IndexConsistencyTask.class);
    public static final TaskType TYPE = TaskType.of("search-index-consistency");
    /** How many repaired messages the report names; the counts cover them all. */
    static final int NAMED_REPAIRS = 100;

    /** What is checked. */
    public record Scope(Optional<Username> user, Optional<MailboxId> mailbox) {
        static Scope all() {
            return new Scope(Optional.empty(), Optional.empty());
        }

        String describe() {
            return mailbox.map(id -> "mailbox " + id.serialize())
                .or(() -> user.map(u -> "user " + u.asString()))
                .orElse("all mailboxes");
        }
    }

    private final OpenSearchMessageSearchIndex index;
    private final MailboxManager mailboxes;
    private final MailboxSessionMapperFactory mappers;
    private final UsersRepository users;
    private final Scope scope;
    private final Clock clock;

    private final AtomicLong mailboxesChecked = new AtomicLong();
    private final AtomicLong messagesChecked = new AtomicLong();
    private final AtomicLong missingIndexed = new AtomicLong();
    private final AtomicLong staleReindexed = new AtomicLong();
    private final AtomicLong orphansRemoved = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final List<String> repairs = Collections.synchronizedList(new ArrayList<>());

    IndexConsistencyTask(OpenSearchMessageSearchIndex index, MailboxManager mailboxes, MailboxSessionMapperFactory mappers,
                         UsersRepository users, Scope scope, Clock clock) {
        this.index = index;
        this.mailboxes = mailboxes;
        this.mappers = mappers;
        this.users = users;
        this.scope = scope;
        this.clock = clock;
    }

    @Override
    public Result run() {
        LOGGER.info("checking the search index against {}", scope.describe());
        mailboxesInScope()
            .concatMap(target -> checkMailbox(target.session(), target.mailbox())
                .onErrorResume(e -> {
                    failures.incrementAndGet();
                    LOGGER.warn("checking the search index of mailbox {} failed: {}", target.mailbox().getId().serialize(), e.toString());
                    return Mono.empty();
                }))
            .then()
            .block();
        LOGGER.info("search index check of {}: {} mailboxes, {} messages; indexed {} missing, {} stale, removed {} orphans; {} failures",
            scope.describe(), mailboxesChecked.get(), messagesChecked.get(), missingIndexed.get(), staleReindexed.get(),
            orphansRemoved.get(), failures.get());
        return failures.get() == 0 ? Result.COMPLETED : Result.PARTIAL;
    }

    private record Target(MailboxSession session, MessageManager mailbox) {
    }

    private Flux<Target> mailboxesInScope() {
        if (scope.mailbox().isPresent()) {
            MailboxId id = scope.mailbox().get();
            return Mono.fromCallable(() -> {
                    MailboxSession system = mailboxes.createSystemSession(Username.of("mailcluster-index-check"));
                    MessageManager mailbox = mailboxes.getMailbox(id, system);
                    MailboxSession owner = mailboxes.createSystemSession(mailbox.getMailboxEntity().getUser());
                    return new Target(owner, mailboxes.getMailbox(id, owner));
                })
                .flux();
        }
        Flux<Username> who = scope.user().map(Flux::just).orElseGet(() -> Flux.from(users.listReactive()));
        return who.concatMap(user -> {
            MailboxSession session = mailboxes.createSystemSession(user);
            return mailboxes.search(MailboxQuery.privateMailboxesBuilder(session).build(), session)
                .map(MailboxMetaData::getId)
                .concatMap(id -> Mono.from(mailboxes.getMailboxReactive(id, session)))
                .map(mailbox -> new Target(session, mailbox));
        });
    }

    private Mono<Void> checkMailbox(MailboxSession session, MessageManager mailbox) {
        MailboxId id = mailbox.getId();
        // The index first, then the mailbox: see the class comment.
        return index.indexedStates(id)
            .collectMap(OpenSearchMessageSearchIndex.IndexedState::uid, OpenSearchMessageSearchIndex.IndexedState::modSeq)
            .flatMap(indexed -> Flux.from(mailbox.listMessagesMetadata(MessageRange.all(), session))
                .collectMap(message -> message.getComposedMessageId().getUid(), Function.identity())
                .flatMap(stored -> repair(session, mailbox, indexed, stored)))
            .doOnSuccess(any -> mailboxesChecked.incrementAndGet());
    }

    private Mono<Void> repair(MailboxSession session, MessageManager mailbox, Map<MessageUid, Long> indexed,
                              Map<MessageUid, ComposedMessageIdWithMetaData> stored) {
        messagesChecked.addAndGet(stored.size());
        List<MessageUid> missing = stored.keySet().stream().filter(uid -> !indexed.containsKey(uid)).sorted().collect(Collectors.toList());
        List<MessageUid> stale = stored.entrySet().stream()
            .filter(entry -> indexed.containsKey(entry.getKey()) && indexed.get(entry.getKey()) < entry.getValue().getModSeq().asLong())
            .map(Map.Entry::getKey).sorted().collect(Collectors.toList());
        List<MessageUid> orphans = indexed.keySet().stream().filter(uid -> !stored.containsKey(uid)).sorted().collect(Collectors.toList());
        if (missing.isEmpty() && stale.isEmpty() && orphans.isEmpty()) {
            return Mono.empty();
        }
        String mailboxId = mailbox.getId().serialize();
        Mono<Void> removeOrphans = orphans.isEmpty() ? Mono.empty()
            : index.delete(session, mailbox.getId(), orphans)
                .doOnSuccess(any -> {
                    orphansRemoved.addAndGet(orphans.size());
                    orphans.forEach(uid -> name(mailboxId, uid, "removed (expunged)"));
                });
        return removeOrphans
            .then(reindex(session, mailbox, missing, missingIndexed, "indexed (missing)"))
            .then(reindex(session, mailbox, stale, staleReindexed, "indexed again (stale)"));
    }

    private Mono<Void> reindex(MailboxSession session, MessageManager mailbox, List<MessageUid> uids, AtomicLong counter, String what) {
        if (uids.isEmpty()) {
            return Mono.empty();
        }
        String mailboxId = mailbox.getId().serialize();
        return Mono.fromCallable(mailbox::getMailboxEntity)
            .flatMapMany(entity -> Flux.fromIterable(uids)
                .concatMap(uid -> mappers.getMessageMapper(session)
                    .findInMailboxReactive(entity, MessageRange.one(uid), MessageMapper.FetchType.FULL, 1)
                    .concatMap(message -> index.add(session, entity, message))
                    .then(Mono.fromRunnable(() -> {
                        counter.incrementAndGet();
                        name(mailboxId, uid, what);
                    }))
                    .onErrorResume(e -> {
                        failures.incrementAndGet();
                        LOGGER.warn("indexing message {} of mailbox {} failed: {}", uid, mailboxId, e.toString());
                        return Mono.empty();
                    })))
            .then();
    }

    private void name(String mailboxId, MessageUid uid, String what) {
        if (repairs.size() < NAMED_REPAIRS) {
            repairs.add(mailboxId + ":" + uid.asLong() + " " + what);
        }
    }

    @Override
    public TaskType type() {
        return TYPE;
    }

    @Override
    public Optional<TaskExecutionDetails.AdditionalInformation> details() {
        return Optional.of(new Details(scope.describe(), mailboxesChecked.get(), messagesChecked.get(), missingIndexed.get(),
            staleReindexed.get(), orphansRemoved.get(), failures.get(), List.copyOf(repairs), clock.instant()));
    }

    /** Progress while it runs, the report once done: shown under {@code /tasks/ID}. */
    public record Details(String scope, long mailboxesChecked, long messagesChecked, long missingIndexed, long staleReindexed,
                          long orphansRemoved, long failures, List<String> repairs, Instant timestamp)
        implements TaskExecutionDetails.AdditionalInformation {
    }

    /** How {@link Details} reads in webadmin's JSON. */
    public static final class DetailsDTO implements AdditionalInformationDTO {
        private final String type;
        private final Details details;

        DetailsDTO(@JsonProperty("type") String type,
                   @JsonProperty("scope") String scope,
                   @JsonProperty("mailboxesChecked") long mailboxesChecked,
                   @JsonProperty("messagesChecked") long messagesChecked,
                   @JsonProperty("missingIndexed") long missingIndexed,
                   @JsonProperty("staleReindexed") long staleReindexed,
                   @JsonProperty("orphansRemoved") long orphansRemoved,
                   @JsonProperty("failures") long failures,
                   @JsonProperty("repairs") List<String> repairs,
                   @JsonProperty("timestamp") Instant timestamp) {
            this(type, new Details(scope, mailboxesChecked, messagesChecked, missingIndexed, staleReindexed, orphansRemoved,
                failures, repairs, timestamp));
        }

        private DetailsDTO(String type, Details details) {
            this.type = type;
            this.details = details;
        }

        @Override
        public String getType() {
            return type;
        }

        @Override
        public Instant getTimestamp() {
            return details.timestamp();
        }

        public String getScope() {
            return details.scope();
        }

        public long getMailboxesChecked() {
            return details.mailboxesChecked();
        }

        public long getMessagesChecked() {
            return details.messagesChecked();
        }

        public long getMissingIndexed() {
            return details.missingIndexed();
        }

        public long getStaleReindexed() {
            return details.staleReindexed();
        }

        public long getOrphansRemoved() {
            return details.orphansRemoved();
        }

        public long getFailures() {
            return details.failures();
        }

        public List<String> getRepairs() {
            return details.repairs();
        }

        public static AdditionalInformationDTOModule<Details, DetailsDTO> module() {
            return DTOModule.forDomainObject(Details.class)
                .convertToDTO(DetailsDTO.class)
                .toDomainObjectConverter(dto -> dto.details)
                .toDTOConverter((details, type) -> new DetailsDTO(type, details))
                .typeName(TYPE.asString())
                .withFactory(AdditionalInformationDTOModule::new);
        }
    }
}
