package io.distpipe.replicas.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import io.distpipe.membership.MemberState;
import io.distpipe.membership.MemberStatus;
import io.distpipe.membership.MembershipChange;
import io.distpipe.membership.MembershipEvent;
import io.distpipe.replicas.ReplicaRole;
import io.distpipe.replicas.RoleAssignment;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicaManagerTopologyTest {

    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path stateDir;

    private final AvroSerdes serdes = new AvroSerdes(new InMemorySchemaRegistry());
    private TopologyTestDriver driver;
    private TestInputTopic<String, MembershipEvent> events;
    private TestInputTopic<String, RoleAssignment> confirmations;
    private TestOutputTopic<String, RoleAssignment> roles;
    private final Map<String, RoleAssignment> latest = new TreeMap<>();
    private final List<String> alive = new ArrayList<>();
    private long epoch;

    private void start(Mode mode) {
        Properties props = ReplicaManagerTopology.config("dummy:1234");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(ReplicaManagerTopology.build(mode, serdes), props, NOW);
        events = driver.createInputTopic(Topics.MEMBERSHIP_EVENTS.name(),
            serdes.keySerde(Topics.MEMBERSHIP_EVENTS).serializer(), serdes.valueSerde(Topics.MEMBERSHIP_EVENTS)
                .serializer());
        confirmations = driver.createInputTopic(Topics.REPLICAS_ROLES.name(),
            serdes.keySerde(Topics.REPLICAS_ROLES).serializer(), serdes.valueSerde(Topics.REPLICAS_ROLES).serializer());
        roles = driver.createOutputTopic(Topics.REPLICAS_ROLES.name(), serdes.keySerde(Topics.REPLICAS_ROLES)
            .deserializer(), serdes.valueSerde(Topics.REPLICAS_ROLES).deserializer());
    }

    @AfterEach
    void close() {
        if (driver != null) {
            driver.close();
        }
    }

    private Map<String, RoleAssignment> event(MembershipChange change, String member) {
        if (change == MembershipChange.ADDED && !alive.contains(member)) {
            alive.add(member);
        } else if (change == MembershipChange.REMOVED || change == MembershipChange.SUSPECTED) {
            alive.remove(member);
        }
        List<MemberStatus> members = new ArrayList<>();
        alive.stream().sorted().forEach(m -> members.add(new MemberStatus(m, "replica", MemberState.ALIVE, 10L)));
        members.add(new MemberStatus("worker-1", "worker", MemberState.ALIVE, 10L));
        events.pipeInput(member, MembershipEvent.newBuilder().setType(change).setMemberId(member).setRole("replica")
            .setEpoch(++epoch).setMembers(members).setReason("test").setAt(NOW).build());
        Map<String, RoleAssignment> changed = new TreeMap<>();
        for (TestRecord<String, RoleAssignment> r : roles.readRecordsToList()) {
            changed.put(r.key(), r.value());
            if (r.value() == null) {
                latest.remove(r.key());
            } else if (ReplicaManagerTopology.RM.equals(r.value().getAssignedBy())) {
                latest.put(r.key(), r.value());
            }
        }
        return changed;
    }

    @Test
    void shouldKeepOnePrimaryAndPromoteTheLowestBackupWhenThePrimaryIsSuspected() {
        start(Mode.PASSIVE);
        event(MembershipChange.ADDED, "S2");
        event(MembershipChange.ADDED, "S1");
        event(MembershipChange.ADDED, "S3");
        assertThat(latest).extractingByKeys("S1", "S2", "S3").extracting(RoleAssignment::getRole)
            .containsExactly(ReplicaRole.BACKUP, ReplicaRole.PRIMARY, ReplicaRole.BACKUP);

        Map<String, RoleAssignment> changed = event(MembershipChange.SUSPECTED, "S2");
        assertThat(changed).containsKey("S2");
        assertThat(changed.get("S2")).as("a tombstone for the lost primary").isNull();
        assertThat(latest.get("S1").getRole()).isEqualTo(ReplicaRole.PRIMARY);
        assertThat(latest.get("S1").getEpoch()).isEqualTo(epoch);
        assertThat(latest.get("S3").getPrimary()).isEqualTo("S1");

        event(MembershipChange.ADDED, "S2");
        assertThat(latest.get("S2").getRole()).as("a returning primary is a backup").isEqualTo(ReplicaRole.BACKUP);
        assertThat(latest.get("S1").getRole()).isEqualTo(ReplicaRole.PRIMARY);
    }

    @Test
    void shouldGiveARestartedPrimaryANewEpochAndItsRoleToABackup() {
        start(Mode.PASSIVE);
        event(MembershipChange.ADDED, "S1");
        event(MembershipChange.ADDED, "S2");
        long before = latest.get("S1").getEpoch();
        event(MembershipChange.ADDED, "S1");
        assertThat(latest.get("S2").getRole()).isEqualTo(ReplicaRole.PRIMARY);
        assertThat(latest.get("S1").getRole()).isEqualTo(ReplicaRole.BACKUP);
        assertThat(latest.get("S1").getEpoch()).isGreaterThan(before);
    }

    @Test
    void shouldOrderAStateTransferToAJoiningActiveReplicaAndCountItReadyOnceConfirmed() {
        start(Mode.ACTIVE);
        event(MembershipChange.ADDED, "S1");
        assertThat(latest.get("S1").getRole()).isEqualTo(ReplicaRole.READY);
        assertThat(latest.get("S1").getTransferFrom()).as("the first replica replays the log").isNull();

        event(MembershipChange.ADDED, "S2");
        RoleAssignment s2 = latest.get("S2");
        assertThat(s2.getRole()).isEqualTo(ReplicaRole.RECOVERING);
        assertThat(s2.getTransferFrom()).isEqualTo("S1");

        confirmations.pipeInput("S2", RoleAssignment.newBuilder(s2).setRole(ReplicaRole.READY).setTransferFrom(null)
            .setAssignedBy("S2").build());
        roles.readRecordsToList();
        event(MembershipChange.ADDED, "S3");
        event(MembershipChange.REMOVED, "S1");
        assertThat(latest.get("S3").getTransferFrom()).as("S1 is gone; S2 has been confirmed ready").isEqualTo("S2");
        assertThat(latest).doesNotContainKey("S1");
    }

    @Test
    void shouldReorderATransferWhoseSourceDied() {
        start(Mode.ACTIVE);
        event(MembershipChange.ADDED, "S1");
        event(MembershipChange.ADDED, "S2");
        event(MembershipChange.ADDED, "S3");
        assertThat(latest.get("S3").getTransferFrom()).isEqualTo("S1");
        Map<String, RoleAssignment> changed = event(MembershipChange.SUSPECTED, "S1");
        assertThat(changed.get("S2").getRole()).as("nobody ready is left: replay the request log")
            .isEqualTo(ReplicaRole.READY);
        assertThat(changed.get("S2").getTransferFrom()).isNull();
    }

    @Test
    void shouldNameEveryOperator() {
        String description = ReplicaManagerTopology.build(Mode.ACTIVE, serdes).describe().toString();
        assertThat(description).doesNotContain("KSTREAM-").contains(ReplicaManagerTopology.ASSIGNER);
    }
}
