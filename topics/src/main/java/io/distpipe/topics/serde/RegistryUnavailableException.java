package io.distpipe.topics.serde;

import io.distpipe.topics.registry.SchemaRegistryException;
import org.apache.kafka.common.KafkaException;

/**
 * A record could not be written or read because the schema registry did not answer: a transient failure, to be
 * retried (bounded) and then to stop the component, never a reason to skip or dead-letter the record. Deliberately
 * not a {@link org.apache.kafka.common.errors.SerializationException}, which the consumer loops treat as poison.
 */
public final class RegistryUnavailableException extends KafkaException {

    private static final long serialVersionUID = 1L;

    RegistryUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The registry outage behind {@code e}, if that is what it is: a {@link RegistryUnavailableException}, or null. */
    static RegistryUnavailableException of(String doing, Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RegistryUnavailableException unavailable) {
                return unavailable;
            }
            if (t instanceof SchemaRegistryException registry
                && (registry.errorCode() == SchemaRegistryException.UNREACHABLE
                    || registry.errorCode() == SchemaRegistryException.UNAUTHORIZED)) {
                return new RegistryUnavailableException(registry.getMessage() + "; cannot " + doing, e);
            }
        }
        return null;
    }

    /** Whether {@code e} or one of its causes is a registry outage. */
    public static boolean isCauseOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RegistryUnavailableException) {
                return true;
            }
        }
        return false;
    }
}
