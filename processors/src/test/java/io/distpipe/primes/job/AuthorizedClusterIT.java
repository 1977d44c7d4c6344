package io.distpipe.primes.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.HeartbeatSender;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.membership.MembershipChange;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.membership.MembershipService;
import io.distpipe.membership.MembershipTopology;
import io.distpipe.testkit.AuthorizingKafka;
import io.distpipe.topics.Access;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A broker that enforces ACLs (StandardAuthorizer, nothing allowed without one) and the roles' ACLs from
 * {@link Access}: a worker JVM logged in as the worker principal, with the worker role's ACLs and nothing else, does
 * every task of a job exactly once; and what a role must not do, it cannot: a worker cannot read kv.decisions, a chat
 * client cannot write chat.events, a replica client cannot write replicas.roles (while it can send its requests).
 */
class AuthorizedClusterIT extends SaslClusterFixture {

    /** The job's own JVM (coordinator, dedup processor, output): the union of those two roles. */
    private static final String JOB = "primes-job";

    private static AuthorizingKafka cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = AuthorizingKafka.start(Files.createTempDirectory("authorized-cluster-it"));
        use(cluster.bootstrapServers(), cluster.registryUrl(), cluster);
        cluster.grantRoles(Access.WORKER, Access.MEMBERSHIP, Access.CHAT_CLIENT, Access.REPLICA_CLIENT)
            .grant(JOB, Access.COORDINATOR, Access.DEDUP);
    }

    private static Map<String, Object> as(String principal, Map<String, Object> props) {
        props.putAll(cluster.clientProperties(principal));
        return props;
    }

    @Test
    void shouldRunAJobExactlyWithEachPartUnderItsRolesAcls() throws Exception {
        // The worker JVM as the worker role, the rest of the job in this JVM as coordinator and dedup.
        assertExactWithAWorkerJvm(cluster.config("worker"), List.of(), cluster.config(JOB), 20_000);
    }

    @Test
    void shouldTrackAWorkersHeartbeatsWithTheMembershipProcessorUnderItsRolesAcls() throws Exception {
        AvroSerdes serdes = AvroSerdes.connect(registryUrl);
        // The processor (Kafka Streams) in this JVM as membership; the heartbeats sent as worker.
        cluster.loginAs("membership");
        Deserializer<MembershipEvent> events = serdes.valueSerde(Topics.MEMBERSHIP_EVENTS).deserializer();
        try (MembershipService membership = new MembershipService("acl-membership", bootstrap, 1,
                 Files.createDirectories(dir.resolve("membership")), serdes, new MembershipTopology.Config(
                     Duration.ofSeconds(2), Duration.ofSeconds(4), Duration.ofMillis(250)));
             HeartbeatSender heartbeats = new HeartbeatSender("acl-member", "worker", Duration.ofMillis(250),
                 new KafkaProducer<>(as("worker", KafkaClients.producer(bootstrap, "acl-beats"))),
                 serdes);
             KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(as(AuthorizingKafka.ADMIN, KafkaClients.consumer(
                 bootstrap, null, "acl-events", 0)))) {
            membership.start();
            membership.awaitRunning(Duration.ofSeconds(60));
            heartbeats.start();
            reader.assign(List.of(new TopicPartition(Topics.MEMBERSHIP_EVENTS.name(), 0)));
            reader.seekToBeginning(reader.assignment());
            List<MembershipEvent> seen = new ArrayList<>();
            Poll.until("acl-member ADDED on membership.events", Duration.ofSeconds(60), () -> {
                reader.poll(Duration.ofMillis(200)).forEach(r -> seen.add(events.deserialize(r.topic(), r.value())));
                return seen.stream().anyMatch(e -> e.getMemberId().equals("acl-member")
                    && e.getType() == MembershipChange.ADDED);
            });
        }
    }

    @Test
    void shouldRefuseEachRoleWhatItMustNotDo() throws Exception {
        try (KafkaConsumer<byte[], byte[]> worker = new KafkaConsumer<>(as("worker",
            KafkaClients.consumer(bootstrap, null, "acl-worker-reader", 0)))) {
            worker.assign(List.of(new TopicPartition(Topics.KV_DECISIONS.name(), 0)));
            TopicAuthorizationException refused = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (refused == null && System.nanoTime() < deadline) {
                try {
                    assertThat(worker.poll(Duration.ofMillis(200))).as("records of kv.decisions").isEmpty();
                } catch (TopicAuthorizationException e) {
                    refused = e;
                }
            }
            assertThat(refused).as("the worker's read of kv.decisions refused").isNotNull();
            assertThat(refused.unauthorizedTopics()).containsExactly(Topics.KV_DECISIONS.name());
        }
        assertRefusedToWrite("chat-client", Topics.CHAT_EVENTS.name());
        assertRefusedToWrite("replica-client", Topics.REPLICAS_ROLES.name());
        try (KafkaProducer<byte[], byte[]> client = new KafkaProducer<>(as("replica-client",
            KafkaClients.producer(bootstrap, "acl-replica-client")))) {
            assertThat(client.send(new ProducerRecord<>(Topics.REPLICAS_REQUESTS.name(), new byte[] {1}))
                .get(30, TimeUnit.SECONDS).offset()).as("what its role does, it can").isNotNegative();
        }
    }

    /**
     * A plain (not idempotent) producer: an idempotent one of a principal that may write nothing is refused its
     * producer id by the cluster before any topic is asked about.
     */
    private static void assertRefusedToWrite(String principal, String topic) {
        Map<String, Object> props = as(principal, KafkaClients.producer(bootstrap, "acl-" + principal));
        props.put("enable.idempotence", false);
        props.put("acks", "1");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            assertThatThrownBy(() -> producer.send(new ProducerRecord<>(topic, new byte[] {1})).get(30,
                TimeUnit.SECONDS)).as(principal + " writing " + topic).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(TopicAuthorizationException.class);
        }
    }
}
