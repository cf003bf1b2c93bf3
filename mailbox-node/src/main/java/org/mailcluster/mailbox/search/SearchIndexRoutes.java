package org.mailcluster.mailbox.search;

import java.io.IOException;

import javax.inject.Inject;

import org.apache.james.webadmin.Routes;
import org.apache.james.webadmin.utils.ErrorResponder;
import org.eclipse.jetty.http.HttpStatus;

import spark.Service;

/**
 * Webadmin for the index itself (rebuilding its content is James's reindex tasks:
 * {@code POST /mailboxes?task=reIndex}, {@code /users/NAME/mailboxes?task=reIndex},
 * {@code /mailboxes/ID?task=reIndex}):
 * <ul>
 *   <li>{@code GET /search/index}: which index the read and write aliases point at;</li>
 *   <li>{@code POST /search/index/switch}: point searches at the current mapping version,
 *       the last step of a mapping change (docs/search.md).</li>
 * </ul>
 */
public class SearchIndexRoutes implements Routes {
    private static final String BASE = "/search/index";

    private final MessageIndexLayout layout;

    @Inject
    SearchIndexRoutes(MessageIndexLayout layout) {
        this.layout = layout;
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
