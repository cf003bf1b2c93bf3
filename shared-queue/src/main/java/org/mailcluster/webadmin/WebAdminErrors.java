package org.mailcluster.webadmin;

import org.apache.james.webadmin.utils.ErrorResponder;
import org.eclipse.jetty.http.HttpStatus;

/** The error answers the project's own webadmin routes give, in James's JSON error format. */
public final class WebAdminErrors {

    private WebAdminErrors() {
    }

    /** 400, the message naming what is wrong in the request. */
    public static RuntimeException badRequest(String message) {
        return ErrorResponder.builder()
            .statusCode(HttpStatus.BAD_REQUEST_400)
            .type(ErrorResponder.ErrorType.INVALID_ARGUMENT)
            .message(message)
            .haltError();
    }

    /** 404, the message naming what does not exist. */
    public static RuntimeException notFound(String message) {
        return ErrorResponder.builder()
            .statusCode(HttpStatus.NOT_FOUND_404)
            .type(ErrorResponder.ErrorType.NOT_FOUND)
            .message(message)
            .haltError();
    }
}
