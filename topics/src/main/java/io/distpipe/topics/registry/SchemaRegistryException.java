package io.distpipe.topics.registry;

/** A registry call failed; {@code errorCode} follows the Confluent REST error codes (40401, 40403, 409, 50001...). */
public class SchemaRegistryException extends RuntimeException {

    public static final int SUBJECT_NOT_FOUND = 40401;
    public static final int VERSION_NOT_FOUND = 40402;
    public static final int SCHEMA_NOT_FOUND = 40403;
    public static final int INCOMPATIBLE_SCHEMA = 409;
    public static final int INVALID_SCHEMA = 42201;
    public static final int INVALID_COMPATIBILITY_LEVEL = 42203;
    public static final int UNREACHABLE = 50301;
    /**
     * The registry refused us (HTTP 401 or 403): wrong or missing credentials. Not poison (the records are fine), so
     * it is handled as an outage: retried within the bound, then the component stops loudly.
     */
    public static final int UNAUTHORIZED = 40101;
    public static final int INTERNAL = 50001;

    private final int errorCode;

    public SchemaRegistryException(int errorCode, String message) {
        super(message);
        this.errorCode = errorCode;
    }

    public SchemaRegistryException(int errorCode, String message, Throwable cause) {
        super(message, cause);
        this.errorCode = errorCode;
    }

    public int errorCode() {
        return errorCode;
    }

    /** The HTTP status that carries this error in the Confluent REST API. */
    public int httpStatus() {
        if (errorCode == INCOMPATIBLE_SCHEMA) {
            return 409;
        }
        int status = errorCode / 100;
        return status >= 400 && status < 600 ? status : 500;
    }
}
