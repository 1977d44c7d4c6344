package io.distpipe.topics;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

/** The roles' access, derived from the catalog's writers, and the ACLs and table made of it. */
class AccessTest {

    @Test
    void shouldGiveEveryCatalogTopicExactlyOneWritingRoleAndTheHeartbeatsEveryService() {
        Map<String, Set<String>> writers = Access.writersByTopic();
        Set<String> services = Access.ALL.stream().filter(Access::heartbeats).map(Access::principal)
            .collect(Collectors.toCollection(TreeSet::new));
        writers.forEach((topic, roles) -> {
            if (topic.equals(Topics.MEMBERSHIP_HEARTBEATS.name())) {
                assertThat(roles).isEqualTo(services);
            } else {
                assertThat(roles).as(topic + " (writer '" + Topics.byName(topic).orElseThrow().writer() + "')")
                    .hasSize(1);
            }
        });
        assertThat(Access.ALL).extracting(Access::principal).doesNotHaveDuplicates();
    }

    @Test
    void shouldReadOnlyCatalogTopics() {
        for (Access a : Access.ALL) {
            assertThat(a.reads()).as(a.principal()).allSatisfy(t -> assertThat(Topics.byName(t)).isPresent());
            assertThat(a.alsoWrites()).as(a.principal()).allSatisfy(t -> assertThat(Topics.byName(t)).isPresent());
        }
    }

    @Test
    void shouldLetOnlyTheChatServerWriteChatEventsAndOnlyTheManagerAndReplicasWriteRoles() {
        assertThat(writersOf("chat.events")).containsExactly("chat-server");
        assertThat(writersOf("replicas.roles")).containsExactly("replica", "replica-manager");
        assertThat(Access.CHAT_CLIENT.writes()).isEmpty();
        assertThat(Access.WORKER.reads()).doesNotContain("kv.decisions");
    }

    private static List<String> writersOf(String topic) {
        return Access.ALL.stream().filter(a -> a.writes().contains(topic)).map(Access::principal).sorted().toList();
    }

    @Test
    void shouldTurnARoleIntoAllowAclsForItsPrincipalOnly() {
        List<AclBinding> acls = Access.WORKER.bindings("w1");
        assertThat(acls).allSatisfy(b -> {
            assertThat(b.entry().principal()).isEqualTo("User:w1");
            assertThat(b.entry().permissionType().name()).isEqualTo("ALLOW");
        });
        assertThat(names(acls, ResourceType.TOPIC, AclOperation.WRITE)).containsExactly("membership.heartbeats",
            "primes.completed", "primes.found", "primes.snapshots", "primes.tasks.dlq");
        assertThat(names(acls, ResourceType.TOPIC, AclOperation.READ)).containsExactly("primes.tasks");
        assertThat(names(acls, ResourceType.GROUP, AclOperation.READ)).containsExactly("primes-workers");
        assertThat(acls).filteredOn(b -> b.pattern().resourceType() == ResourceType.TRANSACTIONAL_ID)
            .allSatisfy(b -> {
                assertThat(b.pattern().name()).isEqualTo("primes-worker-");
                assertThat(b.pattern().patternType()).isEqualTo(PatternType.PREFIXED);
            }).hasSize(2);
        assertThat(names(Access.DEDUP.bindings("d"), ResourceType.TOPIC, AclOperation.DESCRIBE_CONFIGS))
            .as("a Streams application describes its topics' configs").contains("primes-dedup-seen-changelog");
        assertThat(names(Access.DEDUP.bindings("d"), ResourceType.TOPIC, AclOperation.CREATE))
            .as("and creates its changelogs, nothing else").containsExactly("primes-dedup-seen-changelog");
        assertThat(names(acls, ResourceType.TOPIC, AclOperation.CREATE)).as("a worker creates nothing").isEmpty();
    }

    private static List<String> names(List<AclBinding> acls, ResourceType type, AclOperation op) {
        return acls.stream().filter(b -> b.pattern().resourceType() == type && b.entry().operation() == op)
            .map(b -> b.pattern().name()).sorted().toList();
    }

    @Test
    void shouldMatchTheTableInTheDocs() throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "acls.md"));
        assertThat(doc).as("docs/acls.md holds Access.table(); print it with `distpipe acls`")
            .contains(Access.table());
    }
}
