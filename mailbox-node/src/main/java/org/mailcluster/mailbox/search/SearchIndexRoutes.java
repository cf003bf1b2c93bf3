package org.mailcluster.mailbox.search;

import static org.mailcluster.webadmin.WebAdminErrors.badRequest;

import java.io.IOException;
import java.time.Clock;
import java.util.Optional;

import javax.inject.Inject;
import javax.inject.Named;

import org.apache.james.core.Username;
import org.apache.james.mailbox.MailboxManager;
import org.apache.james.mailbox.model.MailboxId;
import org.apache.james.mailbox.store.MailboxSessionMapperFactory;
import org.apache.james.task.TaskManager;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.tasks.TaskFromRequest;
import org.apache.james.webadmin.utils.ErrorResponder;
import org.apache.james.webadmin.utils.JsonTransformer;
import org.eclipse.jetty.http.HttpStatus;
import org.mailcluster.webadmin.RequestedUser;


import spark.Service;

/**
 * Webadmin for the index itself (rebuilding its content is James's reindex tasks:
 * {@code POST /mailboxes?task=reIndex}, {@code /users/NAME/mailboxes?task=reIndex},
 * {@code /mailboxes/ID?task=reIndex}):
 * <ul>
 *   <li>{@code GET /search/index}: which index the read and write aliases point at;</li>
 *   <li>{@code POST /search/index/switch}: point searches at the current mapping version,
 *       the last step of a mapping change (docs/search.md);</li>
 *   <li>{@code POST /search/index/check} (all mailboxes), {@code ?user=ADDRESS} (one user's)
 *       or {@code ?mailbox=ID} (one mailbox): a task ({@link IndexConsistencyTask}) that
 *       compares the mailboxes with the index and repairs the index; 201 with its
 *       {@code taskId}, progress and report under {@code /tasks/ID}.</li>
 * </ul>
 */
public class SearchIndexRoutes implements Routes {
    private static final String BASE = "/search/index";

    private final MessageIndexLayout layout;
    private final OpenSearchMessageSearchIndex index;
    private final MailboxManager mailboxes;
    private final MailboxSessionMapperFactory mappers;
    private final UsersRepository users;
    private final MailboxId.Factory mailboxIds;
    private final TaskManager tasks;
    private final JsonTransformer json;

    @Inject
    SearchIndexRoutes(MessageIndexLayout layout, OpenSearchMessageSearchIndex index, @Named("mailboxmanager") MailboxManager mailboxes,
                      MailboxSessionMapperFactory mappers, UsersRepository users, MailboxId.Factory mailboxIds,
                      TaskManager tasks, JsonTransformer json) {
        this.layout = layout;
        this.index = index;
        this.mailboxes = mailboxes;
        this.mappers = mappers;
        this.users = users;
        this.mailboxIds = mailboxIds;
        this.tasks = tasks;
        this.json = json;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> {
            response.type("application/json");
            return orUnavailable(layout::describeAliases);
        });
        service.post(BASE + "/switch", (request, response) -> {
            orUnavailable(() -> {
                layout.switchReadAliasToCurrent();
                return "";
            });
            response.status(HttpStatus.NO_CONTENT_204);
            return "";
        });
        TaskFromRequest check = request -> new IndexConsistencyTask(index, mailboxes, mappers, users,
            scope(request.queryParams("user"), request.queryParams("mailbox")), Clock.systemUTC());
        service.post(BASE + "/check", check.asRoute(tasks), json);
    }

    private IndexConsistencyTask.Scope scope(String user, String mailbox) throws Exception {
        if (user != null && mailbox != null) {
            throw badRequest("give either 'user' or 'mailbox', not both");
        }
        Optional<Username> who = user == null ? Optional.empty() : Optional.of(RequestedUser.existing(users, user));
        Optional<MailboxId> which = Optional.empty();
        if (mailbox != null) {
            try {
                which = Optional.of(mailboxIds.fromString(mailbox));
            } catch (RuntimeException e) {
                throw badRequest("'mailbox' is not a mailbox id: " + mailbox);
            }
        }
        return new IndexConsistencyTask.Scope(who, which);
    }

    private interface IndexCall {
        String run() throws IOException;
    }

    private static String orUnavailable(IndexCall call) {
        try {
            return call.run();
        } catch (IOException e) {
            throw ErrorResponder.builder()
                .statusCode(HttpStatus.SERVICE_UNAVAILABLE_503)
                .type(ErrorResponder.ErrorType.SERVER_ERROR)
                .message("OpenSearch cannot be reached: " + e.getMessage())
                .haltError();
        }
    }
}
