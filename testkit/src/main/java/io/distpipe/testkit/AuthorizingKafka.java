package io.distpipe.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.distpipe.cluster.AdminCalls;
import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.cluster.Scram;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.Poll;
import io.distpipe.topics.Access;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AclBinding;

/**
 * A broker that enforces ACLs (SASL/SCRAM, Kafka's StandardAuthorizer, nothing allowed without an ACL) and an HTTP
 * registry, set up the way an administrator would: the catalog's topics created and its schemas registered by the
 * super user, then one SCRAM user per principal holding the ACLs of its roles ({@link Access}) and nothing else.
 * Tests hand each process its principal's client properties file ({@link #config}).
 */
public final class AuthorizingKafka implements AutoCloseable {

    /** The super user's name, for {@link #config}. */
    public static final String ADMIN = "admin";

    private final EmbeddedKafka kafka;
    private final SchemaRegistryServer registry;
    private final Path dir;
    private final Map<String, Scram> logins = new TreeMap<>();

    private AuthorizingKafka(EmbeddedKafka kafka, SchemaRegistryServer registry, Path dir) {
        this.kafka = kafka;
        this.registry = registry;
        this.dir = dir;
    }

    /** Starts the broker and the registry; client properties files go to {@code dir}. */
    public static AuthorizingKafka start(Path dir) {
        EmbeddedKafka kafka = EmbeddedKafka.startTemporary(new Scram(ADMIN, "pw-" + UUID.randomUUID(), true));
        try {
            AuthorizingKafka cluster = new AuthorizingKafka(kafka, SchemaRegistryServer.start(
                new InMemorySchemaRegistry(), 0), dir);
            try (Admin admin = cluster.admin()) {
                TopicAdmin.ensureTopics(admin, Topics.external(), 1);
            }
            TopicAdmin.registerSchemas(AvroSerdes.connect(cluster.registryUrl()).registry(), Topics.ALL);
            return cluster;
        } catch (IOException | RuntimeException e) {
            kafka.close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    public String registryUrl() {
        return registry.url();
    }

    /** An Admin client logged in as the super user. */
    public Admin admin() {
        return AdminCalls.create(kafka.bootstrapServers(), "authorizing-kafka-admin", kafka.clientProperties());
    }

    /** Creates the SCRAM user {@code principal} with the ACLs of {@code roles}, and waits until it is known. */
    public AuthorizingKafka grant(String principal, Access... roles) {
        Scram login = new Scram(principal, "pw-" + UUID.randomUUID());
        List<AclBinding> acls = new ArrayList<>();
        for (Access role : roles) {
            acls.addAll(role.bindings(principal));
        }
        try (Admin admin = admin()) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(principal,
                new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), login.password())))
                .all().get(30, TimeUnit.SECONDS);
            if (!acls.isEmpty()) {
                admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
            }
            Poll.until("the SCRAM user " + principal + " to be known", java.time.Duration.ofSeconds(30),
                () -> AdminCalls.get(admin.describeUserScramCredentials().all()).containsKey(principal));
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Could not create the user " + principal + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        logins.put(principal, login);
        return this;
    }

    /** Each role as a user of its own name ({@link Access#principal()}) holding only its ACLs. */
    public AuthorizingKafka grantRoles(Access... roles) {
        for (Access role : roles) {
            grant(role.principal(), role);
        }
        return this;
    }

    /** The client properties that log in as {@code principal} (or {@link #ADMIN}). */
    public Map<String, String> clientProperties(String principal) {
        if (ADMIN.equals(principal)) {
            return kafka.clientProperties();
        }
        Scram login = logins.get(principal);
        if (login == null) {
            throw new IllegalArgumentException("no user " + principal + " was granted; users: " + logins.keySet());
        }
        return login.clientProperties();
    }

    /** A client properties file that logs in as {@code principal}, for --command-config or ClientProperties. */
    public Path config(String principal) {
        List<String> lines = new ArrayList<>();
        clientProperties(principal).forEach((k, v) -> lines.add(k + "=" + v));
        try {
            return Files.write(dir.resolve(principal + "-" + UUID.randomUUID() + ".properties"), lines);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Makes {@code principal} the login of this JVM's Kafka clients from now on, and of every JVM it starts (each
     * child keeps the login in use when it starts).
     */
    public void loginAs(String principal) {
        ClientProperties.use(config(principal), List.of());
    }

    @Override
    public void close() {
        registry.close();
        kafka.close();
    }
}
