package io.distpipe.chat.server;

import java.util.Optional;

/** A chat operation that did not succeed, with a reason a client can act on and one sentence for the user. */
public final class ChatException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why an operation failed. */
    public enum Reason {
        /** The user name or password is not acceptable (empty, too long, bad characters). */
        INVALID_INPUT,
        /** No account has that name. */
        UNKNOWN_USER,
        /** An account with that name exists already. */
        USER_EXISTS,
        /** The password does not match the account. */
        WRONG_PASSWORD,
        /** The session token is not one the chat state knows. */
        NOT_LOGGED_IN,
        /** The write was not acknowledged by a majority of replicas in time; it will never become visible. */
        NO_QUORUM,
        /**
         * The server stopped: it met an event it cannot read (dead-lettered) or the schema registry did not answer
         * within its bound; it serves nothing rather than answer from a state that may differ from the others'.
         */
        STOPPED
    }

    private final Reason reason;
    private final String attemptedEventId;

    public ChatException(Reason reason, String message) {
        this(reason, message, null, null);
    }

    public ChatException(Reason reason, String message, Throwable cause) {
        this(reason, message, cause, null);
    }

    /** A refused write: {@code attemptedEventId} names the event that was tried and must never become visible. */
    public ChatException(Reason reason, String message, Throwable cause, String attemptedEventId) {
        super(message, cause);
        this.reason = reason;
        this.attemptedEventId = attemptedEventId;
    }

    public Reason reason() {
        return reason;
    }

    /** The id of the event a refused write attempted, if this error comes from a write. */
    public Optional<String> attemptedEventId() {
        return Optional.ofNullable(attemptedEventId);
    }
}
