package io.distpipe.topics.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import io.distpipe.common.ClientProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our registry client against a registry served over HTTPS with a self-signed certificate (made by the JDK's keytool)
 * that asks for HTTP basic authentication: it connects with the trust store and user info of the client properties,
 * and fails in one sentence without them.
 */
class RegistryTlsTest {

    private static final String PASSWORD = "store-secret";

    @TempDir
    Path dir;

    @AfterEach
    void reset() {
        ClientProperties.use(null, List.of());
    }

    /** A PKCS12 key store holding a self-signed key pair for 127.0.0.1. */
    private Path keyStore() throws Exception {
        Path store = dir.resolve("registry.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "registry", "-keyalg", "RSA",
            "-keysize", "2048", "-validity", "2", "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1",
            "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD)
            .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        return store;
    }

    private static SSLContext serverContext(Path store) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, PASSWORD.toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, PASSWORD.toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        return context;
    }

    @Test
    void shouldReachAnHttpsRegistryWithItsTrustStoreAndLogInWithBasicAuth() throws Exception {
        Path store = keyStore();
        InMemorySchemaRegistry schemas = new InMemorySchemaRegistry();
        schemas.register("s-value", "\"string\"");
        try (SchemaRegistryServer server = SchemaRegistryServer.start(schemas, 0, serverContext(store),
            "reader:pw")) {
            assertThat(server.url()).startsWith("https://127.0.0.1:");

            assertThatThrownBy(() -> new ConfluentRestSchemaRegistry(server.url()).subjects())
                .as("a certificate the JVM does not trust").isInstanceOf(SchemaRegistryException.class)
                .hasMessageStartingWith("Schema registry at " + server.url() + " is unreachable: ");

            List<String> tls = List.of("schema.registry.ssl.truststore.location=" + store,
                "schema.registry.ssl.truststore.password=" + PASSWORD, "schema.registry.ssl.truststore.type=PKCS12");
            ClientProperties.use(null, tls);
            assertThatThrownBy(() -> new ConfluentRestSchemaRegistry(server.url()).subjects())
                .as("trusted, but without its user").isInstanceOfSatisfying(SchemaRegistryException.class,
                    e -> assertThat(e.errorCode()).isEqualTo(SchemaRegistryException.UNAUTHORIZED))
                .hasMessage("Schema registry at " + server.url() + " refused the request (HTTP 401 Unauthorized): "
                    + "give its user with basic.auth.user.info in --command-config");

            ClientProperties.use(null, concat(tls, "basic.auth.user.info=reader:pw"));
            assertThat(new ConfluentRestSchemaRegistry(server.url()).subjects()).containsExactly("s-value");
            assertThat(ClientProperties.kafka()).as("none of it reaches the Kafka clients").isEmpty();
        }
    }

    @Test
    void shouldSayWhatIsWrongWithTheStores() {
        assertThatThrownBy(() -> RegistryTls.sslContext(Map.of("schema.registry.ssl.truststore.location",
            dir.resolve("missing.p12").toString()))).isInstanceOf(IllegalArgumentException.class)
            .hasMessageStartingWith("cannot use the registry's TLS settings (schema.registry.ssl.*): ");
        assertThat(RegistryTls.sslContext(Map.of("schema.registry.url", "x"))).isEmpty();
    }

    private static List<String> concat(List<String> a, String b) {
        List<String> all = new java.util.ArrayList<>(a);
        all.add(b);
        return all;
    }
}
