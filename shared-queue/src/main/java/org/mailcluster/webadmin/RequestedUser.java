package org.mailcluster.webadmin;

import static org.mailcluster.webadmin.WebAdminErrors.badRequest;
import static org.mailcluster.webadmin.WebAdminErrors.notFound;

import org.apache.james.core.Username;
import org.apache.james.user.api.UsersRepository;
import org.apache.james.user.api.UsersRepositoryException;

/** The user a webadmin request names (a path or query parameter), which must exist. */
public final class RequestedUser {

    private RequestedUser() {
    }

    /** The user named {@code name}: 400 when that is not a user name, 404 when no such user exists. */
    public static Username existing(UsersRepository users, String name) throws UsersRepositoryException {
        Username user;
        try {
            user = Username.of(name);
        } catch (IllegalArgumentException e) {
            throw badRequest("'user' is not a valid user name: " + e.getMessage());
        }
        if (!users.contains(user)) {
            throw notFound("'user' " + user.asString() + " does not exist");
        }
        return user;
    }
}
