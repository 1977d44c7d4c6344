package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.Poll;
import io.distpipe.replicas.ReplicaReply;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A primary that was never told it lost its role (a zombie) cannot write once a new primary took over: the new
 * primary's initTransactions on the shared transactional id fences it.
 */
class PassiveFencingIT {

    private static EmbeddedKafka kafka;
    private static final AvroSerdes SERDES = new AvroSerdes(new InMemorySchemaRegistry());

    @TempDir
    Path dir;

    @BeforeAll
    static void startBroker() {
        kafka = EmbeddedKafka.startTemporary();
        try (Admin admin = KafkaClients.reachableAdmin(kafka.bootstrapServers(), "test-admin")) {
            TopicAdmin.ensureTopics(admin, List.of(Topics.REPLICAS_REQUESTS, Topics.REPLICAS_REPLIES,
                Topics.REPLICAS_ROLES, Topics.REPLICAS_CHECKPOINTS), 1);
        }
    }

    @AfterAll
    static void stopBroker() {
        kafka.close();
    }

    private void assign(String member, ReplicaRole role, long epoch) {
        RoleAssignment a = RoleAssignment.newBuilder().setMember(member).setRole(role).setEpoch(epoch)
            .setMode("passive").setTransferFrom(null).setPrimary(member).setMembers(List.of(member))
            .setAssignedBy(ReplicaManagerTopology.RM).setAt(Instant.now()).build();
        String topic = Topics.REPLICAS_ROLES.name();
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(KafkaClients.producer(kafka.bootstrapServers(),
            "test-rm"))) {
            p.send(new ProducerRecord<>(topic, SERDES.keySerde(Topics.REPLICAS_ROLES).serializer().serialize(topic,
                member), SERDES.valueSerde(Topics.REPLICAS_ROLES).serializer().serialize(topic, a)));
        }
    }

    private Thread run(Replica replica) {
        replica.start();
        Thread t = new Thread(replica::run, replica.id());
        t.start();
        return t;
    }

    @Test
    void shouldFenceTheOldPrimaryWhenABackupIsPromoted() throws Exception {
        List<String> s1Lines = new CopyOnWriteArrayList<>();
        List<String> s2Lines = new CopyOnWriteArrayList<>();
        Replica s1 = new Replica(new Replica.Config("S1", Mode.PASSIVE, kafka.bootstrapServers(),
            Duration.ofMillis(300), Duration.ZERO), SERDES, s1Lines::add);
        Replica s2 = new Replica(new Replica.Config("S2", Mode.PASSIVE, kafka.bootstrapServers(),
            Duration.ofMillis(300), Duration.ZERO), SERDES, s2Lines::add);
        Path history = dir.resolve("C1.jsonl");
        try (ReplicaClient client = new ReplicaClient(ReplicaClient.Config.of("C1", kafka.bootstrapServers(), 0, 0,
            history), SERDES, line -> { })) {
            Thread t1 = run(s1);
            assign("S1", ReplicaRole.PRIMARY, 1);
            List<ReplicaReply> before = new ArrayList<>();
            for (long n = 1; n <= 5; n++) {
                before.add(client.invoke(n, "op " + n).reply());
            }
            assertThat(before).extracting(ReplicaReply::getServer).containsOnly("S1");
            Poll.until("S1 to send a checkpoint", Duration.ofSeconds(30),
                () -> s1Lines.stream().anyMatch(l -> l.contains("checkpoint #1 sent")));

            // S2 becomes primary; S1 is not told (its assignment is left alone), as if it had been partitioned away.
            Thread t2 = run(s2);
            assign("S2", ReplicaRole.PRIMARY, 2);
            Poll.until("S2 to serve as primary", Duration.ofSeconds(30),
                () -> s2Lines.stream().anyMatch(l -> l.contains("serving as PRIMARY")));

            List<ReplicaReply> after = new ArrayList<>();
            for (long n = 6; n <= 10; n++) {
                after.add(client.invoke(n, "op " + n).reply());
            }
            assertThat(after).extracting(ReplicaReply::getServer).containsOnly("S2");
            assertThat(after).extracting(ReplicaReply::getRequestsApplied).containsExactly(6L, 7L, 8L, 9L, 10L);
            Poll.until("S1 to find itself fenced", Duration.ofSeconds(30),
                () -> s1Lines.stream().anyMatch(l -> l.contains("fenced by a newer primary")));

            long firstAfter = after.get(0).getRequestOffset();
            assertThat(committedReplies()).as("no reply of the zombie S1 is visible after S2 took over")
                .filteredOn(r -> r.getServer().equals("S1")).allMatch(r -> r.getRequestOffset() < firstAfter);
            HistoryChecker.Verdict verdict = HistoryChecker.check(List.of(history),
                List.of(client.probe(11, 1, Duration.ofMillis(500)).get(0)));
            assertThat(verdict.problems()).isEmpty();

            s1.close();
            s2.close();
            t1.join(30_000);
            t2.join(30_000);
        }
    }

    private List<ReplicaReply> committedReplies() {
        TopicPartition tp = new TopicPartition(Topics.REPLICAS_REPLIES.name(), 0);
        List<ReplicaReply> replies = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(KafkaClients.consumer(kafka.bootstrapServers(),
            null, "test-reader", KafkaClients.SESSION_TIMEOUT_MS_DEFAULT))) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            Poll.until("reading the replies", Duration.ofSeconds(30), () -> {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    replies.add(SERDES.valueSerde(Topics.REPLICAS_REPLIES).deserializer().deserialize(r.topic(),
                        r.value()));
                }
                return c.position(tp) >= end;
            });
        }
        return replies;
    }
}
