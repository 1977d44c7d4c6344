package io.distpipe.topics.registry;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Map;
import java.util.Optional;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import io.distpipe.common.Errors;

/**
 * The TLS settings of the registry client, in the spelling of Confluent's serdes: a trust store
 * ({@code schema.registry.ssl.truststore.location}, {@code .password}, {@code .type}) for a registry whose certificate
 * the JVM does not trust, and a key store ({@code schema.registry.ssl.keystore.location}, {@code .password},
 * {@code .type}, {@code schema.registry.ssl.key.password}) for one that asks for the client's. The JDK's own
 * {@code KeyManagerFactory}/{@code TrustManagerFactory}: nothing else is needed for two stores.
 */
public final class RegistryTls {

    static final String PREFIX = "schema.registry.ssl.";

    private RegistryTls() {
    }

    /** The context the settings ask for, or empty when they name no store (the JVM's defaults then apply). */
    public static Optional<SSLContext> sslContext(Map<String, String> properties) {
        String trustStore = properties.get(PREFIX + "truststore.location");
        String keyStore = properties.get(PREFIX + "keystore.location");
        if (trustStore == null && keyStore == null) {
            return Optional.empty();
        }
        try {
            TrustManagerFactory trust = null;
            if (trustStore != null) {
                trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trust.init(load(trustStore, properties.get(PREFIX + "truststore.type"),
                    properties.get(PREFIX + "truststore.password")));
            }
            KeyManagerFactory keys = null;
            if (keyStore != null) {
                String password = properties.get(PREFIX + "keystore.password");
                String keyPassword = properties.getOrDefault(PREFIX + "key.password", password);
                keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(load(keyStore, properties.get(PREFIX + "keystore.type"), password),
                    keyPassword == null ? null : keyPassword.toCharArray());
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys == null ? null : keys.getKeyManagers(), trust == null ? null : trust.getTrustManagers(),
                null);
            return Optional.of(context);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot use the registry's TLS settings (" + PREFIX + "*): "
                + Errors.reason(e), e);
        }
    }

    private static KeyStore load(String location, String type, String password)
        throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance(type == null ? KeyStore.getDefaultType() : type);
        try (InputStream in = Files.newInputStream(Path.of(location))) {
            store.load(in, password == null ? null : password.toCharArray());
        }
        return store;
    }
}
