package io.distpipe.mapreduce.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.ClientProperties;
import io.distpipe.common.command.Cli;
import io.distpipe.testkit.AuthorizingKafka;
import io.distpipe.testkit.ResetClientProperties;
import io.distpipe.topics.Access;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A MapReduce job on a broker that enforces ACLs: the coordinator and a worker as JVMs of their own, logged in as
 * mr-coordinator and mr-worker with only their roles' ACLs from {@link Access} (the coordinator creates the job's
 * intermediate topic by prefix), and {@code mr submit} as mr-client through {@code --command-config}.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@ExtendWith(ResetClientProperties.class)
class MrAuthorizedIT {

    @TempDir
    Path dir;

    @Test
    void shouldCountWordsWithEveryProcessUnderItsRolesAcls() throws Exception {
        Path input = Files.createDirectories(dir.resolve("in"));
        Files.writeString(input.resolve("a.txt"), "the cat the hat\n");
        Files.writeString(input.resolve("b.txt"), "the cat\n");
        List<ChildJvm> processes = new ArrayList<>();
        try (AuthorizingKafka cluster = AuthorizingKafka.start(dir)) {
            cluster.grantRoles(Access.MR_COORDINATOR, Access.MR_WORKER, Access.MR_CLIENT);
            cluster.loginAs("mr-coordinator");
            processes.add(launch("mr-coordinator", List.of("mr", "coordinator"), cluster));
            cluster.loginAs("mr-worker");
            processes.add(launch("mr-worker-1", List.of("mr", "worker", "--id", "mr-worker-1"), cluster));
            for (ChildJvm p : processes) {
                p.awaitReady();
            }
            ClientProperties.use(null, List.of());

            Path output = dir.resolve("out");
            int code = Cli.run("mr", "submit", "--app", "wc", "--input", input.toString(), "--output",
                output.toString(), "--reduces", "2", "--timeout", "2m", "-b", cluster.bootstrapServers(), "-r",
                cluster.registryUrl(), "--command-config", cluster.config("mr-client").toString());

            assertThat(code).isEqualTo(Cli.EXIT_OK);
            List<String> lines = new ArrayList<>();
            try (Stream<Path> files = Files.list(output)) {
                for (Path f : files.filter(p -> p.getFileName().toString().startsWith("mr-out-")).toList()) {
                    lines.addAll(Files.readAllLines(f));
                }
            }
            assertThat(lines).containsExactlyInAnyOrder("the 3", "cat 2", "hat 1");
            for (ChildJvm p : processes) {
                assertThat(p.isAlive()).as(p.id()).isTrue();
            }
        } finally {
            for (ChildJvm p : processes) {
                p.stop(Duration.ofSeconds(10));
            }
        }
    }

    private ChildJvm launch(String id, List<String> args, AuthorizingKafka cluster) throws Exception {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--bootstrap-servers", cluster.bootstrapServers(), "--registry-url",
            cluster.registryUrl()));
        return ChildJvm.spec(id, Cli.class.getName(), dir.resolve(id + ".out"))
            .withJvmOptions("-Xmx200m", "-XX:+UseSerialGC")
            .withArgs(all)
            .withReadyTimeout(Duration.ofSeconds(60))
            .launch();
    }
}
