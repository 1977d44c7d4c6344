package io.distpipe.chat.server;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.spec.KeySpec;
import java.util.HexFormat;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

import io.distpipe.chat.AccountCreated;

/** Salted slow password hashes (PBKDF2 with HMAC-SHA256) and session tokens; no password ever leaves this class. */
public final class Passwords {

    /** The key derivation function every account uses. */
    public static final String ALGORITHM = "PBKDF2WithHmacSHA256";
    /** Iterations for new accounts: OWASP's 2023 figure for PBKDF2-HMAC-SHA256 is 600 000. */
    public static final int DEFAULT_ITERATIONS = 600_000;
    private static final int SALT_BYTES = 16;
    private static final int HASH_BITS = 256;
    private static final int TOKEN_BYTES = 24;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Passwords() {
    }

    /** A salted hash of a password, as stored in {@link AccountCreated}. */
    public record Hash(String algorithm, int iterations, byte[] salt, byte[] hash) {
    }

    /** Hashes {@code password} with a fresh random salt. */
    public static Hash hash(char[] password, int iterations) {
        byte[] salt = new byte[SALT_BYTES];
        RANDOM.nextBytes(salt);
        return new Hash(ALGORITHM, iterations, salt, derive(ALGORITHM, password, salt, iterations));
    }

    /** Whether {@code password} matches a stored hash, compared in constant time. */
    public static boolean matches(char[] password, String algorithm, int iterations, byte[] salt, byte[] expected) {
        return MessageDigest.isEqual(derive(algorithm, password, salt, iterations), expected);
    }

    /** A new random session token for the client to keep. */
    public static String newSessionToken() {
        byte[] token = new byte[TOKEN_BYTES];
        RANDOM.nextBytes(token);
        return HexFormat.of().formatHex(token);
    }

    /** What the topic stores of a session token: its hex SHA-256 (tokens are random, so no salt is needed). */
    public static String sessionHash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(
                    token.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM.", e);
        }
    }

    private static byte[] derive(String algorithm, char[] password, byte[] salt, int iterations) {
        KeySpec spec = new PBEKeySpec(password, salt, iterations, HASH_BITS);
        try {
            return SecretKeyFactory.getInstance(algorithm).generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Cannot derive a password hash with " + algorithm + ".", e);
        }
    }
}
