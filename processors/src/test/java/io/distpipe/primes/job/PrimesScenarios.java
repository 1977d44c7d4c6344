package io.distpipe.primes.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import io.distpipe.common.ChildJvm;
import io.distpipe.common.Poll;
import io.distpipe.common.WorkerProcess;
import io.distpipe.primes.JobStatus;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.primes.work.PrimeWorker;
import io.distpipe.testkit.PrimesAudit;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.testkit.ScenarioCluster;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault scenarios of the primes job, written once against a {@link ScenarioCluster} of three brokers: each subclass
 * says what runs the cluster (in-process nodes, or containers where Docker runs). Every scenario leaves all brokers
 * running for the next one.
 */
// A bound, so a job whose workers all stopped fails the scenario instead of waiting for the job's own 24 h timeout.
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
abstract class PrimesScenarios {

    @TempDir
    Path dir;

    /** The job's latest status, as its observer last heard it. */
    private final AtomicReference<JobStatus> latest = new AtomicReference<>();

    /** The cluster of the subclass, shared by its scenarios. */
    abstract ScenarioCluster cluster();

    private PrimesJob.Result run(Path input, Path output, int workers, int chunk, PrimesJob.Observer observer)
        throws Exception {
        Files.createDirectories(dir.resolve("work"));
        return new PrimesJob(new PrimesJob.Config(input, output, workers, cluster().bootstrapServers(),
            cluster().registryUrl(), chunk, NumberParser.DEFAULT_MAX_DIGITS, dir.resolve("work")), observer).run();
    }

    /**
     * A worker JVM SIGKILLed mid-run and, at the same moment, the schema registry stopped; a replacement worker JVM
     * starts while the registry is down (every schema lookup it makes fails), and the registry comes back once the
     * others have done a few more tasks. Exact, audited, and the replacement did some of the work.
     */
    @Test
    void shouldStayExactWhenAWorkerProcessIsKilledMidRunAndTheRegistryRestarts() throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        PrimesOracle oracle = new PrimesOracle(10);
        for (int f = 0; f < 4; f++) {
            oracle.writeRandom(input.resolve("random-" + f + ".txt"), 15_000, 80, f);
        }
        List<ChildJvm> workers = new CopyOnWriteArrayList<>();
        AtomicBoolean killed = new AtomicBoolean();
        AtomicLong tasksWhenKilled = new AtomicLong();
        CompletableFuture<Void> faults = new CompletableFuture<>();
        AtomicLong refusedWhileDown = new AtomicLong(-1);
        CompletableFuture<ChildJvm> replacement = new CompletableFuture<>();
        try {
            for (int i = 1; i <= 3; i++) {
                workers.add(WorkerProcess.start("worker-" + i, cluster().bootstrapServers(), cluster().registryUrl(),
                    dir.resolve("logs")));
            }
            ChildJvm victim = workers.get(0);
            Path output = dir.resolve("primes.txt");
            PrimesJob.Result result = run(input, output, 0, 250, new PrimesJob.Observer() {
                @Override
                public void progress(JobStatus s) {
                    if (s.getTasksCompleted() >= 10 && killed.compareAndSet(false, true)) {
                        tasksWhenKilled.set(s.getTasksCompleted());
                        CompletableFuture.runAsync(() -> {
                            victim.kill();
                            cluster().stopRegistry();
                            // Not awaited here: it cannot get its schemas before the registry is back.
                            CompletableFuture.supplyAsync(() -> {
                                try {
                                    return WorkerProcess.start("worker-4", cluster().bootstrapServers(),
                                        cluster().registryUrl(), dir.resolve("logs"));
                                } catch (java.io.IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            }).whenComplete((w, e) -> {
                                if (e != null) {
                                    replacement.completeExceptionally(e);
                                } else {
                                    workers.add(w);
                                    replacement.complete(w);
                                }
                            });
                            // Down until the replacement has task partitions. Not longer: once the serde's cache
                            // entries expire every worker needs the registry, and past ReadPolicy's 15 s a worker
                            // stops (as it should).
                            Poll.until("worker-4 to be assigned task partitions while the registry is down",
                                Duration.ofSeconds(60), () -> hasPartitions("worker-4"));
                            refusedWhileDown.set(cluster().registryConnectionsRefused());
                            cluster().startRegistry();
                        }).whenComplete((v, e) -> {
                            if (e != null) {
                                cluster().startRegistry();
                                faults.completeExceptionally(e);
                            } else {
                                faults.complete(null);
                            }
                        });
                    }
                }
            });
            faults.get(60, TimeUnit.SECONDS);

            assertThat(killed).as("a worker was killed").isTrue();
            assertThat(tasksWhenKilled.get()).as("killed before the job ended")
                .isLessThan(result.status().getTasksTotal());
            assertThat(victim.isAlive()).isFalse();
            assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
            assertThat(result.status().getNumbersTested()).isEqualTo(60_000);
            // The coordinator's counts deduplicate; the topics show whether a task or a prime was committed twice.
            PrimesAudit audit = PrimesAudit.of(cluster().bootstrapServers(), cluster().registryUrl(), result.jobId())
                .assertExactlyOnce(oracle.expected());
            assertThat(result.deadLettered()).as("records the job says were dead-lettered").isZero();
            ChildJvm late = replacement.get(60, TimeUnit.SECONDS);
            // It had task partitions while the registry was down: it waited for it (no dead letter, see the audit)
            // and is still serving. Whether it completed tasks after that depends on how much work was left.
            assertThat(late.isAlive()).as("the worker started while the registry was down").isTrue();
            System.out.printf("audit: %d tasks, each completed once (per worker: %s); %d completion(s) of killed "
                + "workers' aborted transactions hidden from read_committed readers; %d registry connection(s) "
                + "refused while it was down%n", audit.tasksPublished().size(), audit.completionsByWorker(),
                audit.hiddenCompletions(), refusedWhileDown.get());
        } finally {
            cluster().startRegistry();
            for (ChildJvm w : workers) {
                w.close();
            }
        }
    }

    /** Whether the member of the workers' group with client id {@code workerId} has partitions assigned. */
    private boolean hasPartitions(String workerId) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
            cluster().bootstrapServers()))) {
            ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(PrimeWorker.GROUP_ID))
                .describedGroups().get(PrimeWorker.GROUP_ID).get(10, TimeUnit.SECONDS);
            return group.members().stream().anyMatch(m -> m.clientId().equals(workerId)
                && !m.assignment().topicPartitions().isEmpty());
        } catch (Exception e) {
            throw new IllegalStateException("Cannot describe group " + PrimeWorker.GROUP_ID, e);
        }
    }

    /**
     * The broker that is the transaction coordinator of the job's first worker (the leader of its
     * {@code __transaction_state} partition) stops mid-run: that worker's transactions must move to a new
     * coordinator. Exact and audited.
     */
    @Test
    void shouldStayExactWhenTheBrokerCoordinatingAWorkersTransactionsStopsMidRun() throws Exception {
        AtomicInteger victim = new AtomicInteger(-1);
        assertExactThroughABrokerFault(jobId -> {
            victim.set(transactionCoordinatorOf(PrimeWorker.TRANSACTIONAL_ID_PREFIX + PrimesJob.workerId(jobId, 1)));
            cluster().stopBroker(victim.get());
        }, () -> assertThat(cluster().runningBrokers()).doesNotContain(victim.get()));
    }

    /**
     * Every broker stops mid-run (the controllers stay: their quorum is not what this tests) and all come back: the
     * job's workers, coordinator and dedup processor lose the whole cluster, their open transactions included, for the
     * seconds it takes. Exact and audited, and the outage really came while tasks were left.
     */
    @Test
    void shouldStayExactWhenEveryBrokerStopsMidRunAndComesBack() throws Exception {
        List<Integer> ids = List.copyOf(new TreeSet<>(cluster().runningBrokers()));
        assertExactThroughABrokerFault(jobId -> {
            ids.forEach(cluster()::stopBroker);
            ids.forEach(cluster()::startBroker);
        }, () -> assertThat(cluster().runningBrokers()).hasSize(3));
    }

    /**
     * A rolling restart of all three brokers while the job runs: each stops (controlled shutdown) and comes back,
     * and the next waits until every partition is fully replicated again. Leaders, group and transaction
     * coordinators move three times under the workers, the coordinator and the dedup processor. Exact and audited,
     * and the job still had tasks left when the last broker stopped: every broker's absence hit the running job.
     */
    @Test
    void shouldStayExactThroughARollingRestartOfEveryBroker() throws Exception {
        List<Integer> stopped = new CopyOnWriteArrayList<>();
        AtomicReference<JobStatus> atLastStop = new AtomicReference<>();
        // Small tasks: about 6 600 of them (a transaction each), some 20 s of work, long enough for three restarts
        // of about 4 s each (with 2 200 tasks of 100 numbers the job had ended before the second was back).
        assertExactThroughABrokerFault(300_000, 50, jobId -> cluster().rollingRestart(Duration.ofSeconds(60), id -> {
            stopped.add(id);
            atLastStop.set(latest.get());
        }), () -> {
            assertThat(stopped).containsExactlyInAnyOrderElementsOf(cluster().runningBrokers());
            assertThat(atLastStop.get().getTasksCompleted()).as("tasks completed when the last broker stopped")
                .isLessThan(atLastStop.get().getTasksTotal());
        });
    }

    /** A fault on the brokers, given the id of the job it hits. */
    private interface BrokerFault {
        void inject(String jobId);
    }

    /**
     * Runs the job on two overlapping files with all three brokers up and, once five tasks are done, {@code fault} on
     * a thread of its own. Then: the fault came while tasks were left and ended within 60 s, {@code afterFault}
     * holds, the output is exact and {@link PrimesAudit} finds every task and prime committed once. Whatever
     * happened, every broker that ran before is running again afterwards, for the next scenario.
     */
    private void assertExactThroughABrokerFault(BrokerFault fault, Runnable afterFault) throws Exception {
        assertExactThroughABrokerFault(200_000, 2_000, fault, afterFault);
    }

    /**
     * As above, on the numbers up to {@code upTo} in two files that overlap by a tenth of it, cut into tasks of
     * {@code chunk} numbers.
     */
    private void assertExactThroughABrokerFault(int upTo, int chunk, BrokerFault fault, Runnable afterFault)
        throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        PrimesOracle oracle = new PrimesOracle(upTo);
        oracle.writeRange(input.resolve("a.txt"), 0, upTo * 6 / 10);
        oracle.writeRange(input.resolve("b.txt"), upTo / 2, upTo);
        ScenarioCluster cluster = cluster();
        assertThat(cluster.runningBrokers()).hasSize(3);
        List<Integer> ids = List.copyOf(new TreeSet<>(cluster.runningBrokers()));
        AtomicBoolean injected = new AtomicBoolean();
        AtomicLong tasksWhenInjected = new AtomicLong();
        CompletableFuture<Void> injecting = new CompletableFuture<>();
        try {
            Path output = dir.resolve("primes.txt");
            PrimesJob.Result result = run(input, output, 2, chunk, new PrimesJob.Observer() {
                @Override
                public void progress(JobStatus s) {
                    latest.set(s);
                    if (s.getTasksCompleted() >= 5 && injected.compareAndSet(false, true)) {
                        tasksWhenInjected.set(s.getTasksCompleted());
                        CompletableFuture.runAsync(() -> fault.inject(s.getJobId())).whenComplete((v, e) -> {
                            if (e != null) {
                                injecting.completeExceptionally(e);
                            } else {
                                injecting.complete(null);
                            }
                        });
                    }
                }
            });

            assertThat(injected).isTrue();
            assertThat(tasksWhenInjected.get()).isLessThan(result.status().getTasksTotal());
            injecting.get(60, TimeUnit.SECONDS);
            afterFault.run();
            assertThat(Files.readAllLines(output)).isEqualTo(oracle.expectedLines());
            PrimesAudit.of(cluster.bootstrapServers(), cluster.registryUrl(), result.jobId())
                .assertExactlyOnce(oracle.expected());
        } finally {
            if (injected.get()) {
                try {
                    injecting.get(60, TimeUnit.SECONDS);
                } finally {
                    for (int id : ids) {
                        if (!cluster.runningBrokers().contains(id)) {
                            cluster.startBroker(id);
                        }
                    }
                }
            }
        }
    }

    /**
     * The broker leading the {@code __transaction_state} partition of {@code transactionalId}: Kafka's transaction
     * coordinator for it (the partition is the id's hash, as {@code TransactionStateManager.partitionFor} has it).
     */
    private int transactionCoordinatorOf(String transactionalId) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
            cluster().bootstrapServers()))) {
            TopicDescription state = admin.describeTopics(List.of(Topic.TRANSACTION_STATE_TOPIC_NAME))
                .allTopicNames().get(10, TimeUnit.SECONDS).get(Topic.TRANSACTION_STATE_TOPIC_NAME);
            int partition = Utils.abs(transactionalId.hashCode()) % state.partitions().size();
            return state.partitions().get(partition).leader().id();
        } catch (Exception e) {
            throw new IllegalStateException("Cannot find the transaction coordinator of " + transactionalId, e);
        }
    }
}
