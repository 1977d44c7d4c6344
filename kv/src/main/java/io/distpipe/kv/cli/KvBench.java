package io.distpipe.kv.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.kv.store.KvClient;
import io.distpipe.kv.store.KvLocal;
import io.distpipe.kv.store.KvSerdes;
import io.distpipe.topics.Topics;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code distpipe kv bench}: commits per second and latency of single-key SETs from many concurrent clients, against
 * a baseline measured in the same run: how many Kafka transactions one producer commits per second, one after the
 * other (a two-phase commit that spent one Kafka transaction per phase per client transaction could not beat it).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = {
    "Benchmark the key-value store: concurrent clients SET random keys for a while; prints commits/s, p50/p99 "
        + "latency and the ratio to one producer's sequential Kafka transactions per second.",
    "Runs a local store (embedded broker, in-process coordinator and workers) unless --bootstrap-servers or a "
        + "store from kv up is there."})
final class KvBench implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "3",
        description = "Workers of the local store (default ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--clients", paramLabel = "N", defaultValue = "64",
        description = "Concurrent clients, each with one SET in flight (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--duration", paramLabel = "DURATION", defaultValue = "15s",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Measured time after a warm-up of a third of it (default ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--keys", paramLabel = "N", defaultValue = "100000",
        description = "Distinct keys the clients pick from at random (default ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--no-transactions", description = "Local workers answer without Kafka transactions.")
    boolean noTransactions;

    @Override
    public Integer call() throws Exception {
        if (workers < 1 || clients < 1 || keys < 1 || duration.isNegative() || duration.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--workers, --clients, --keys and --duration must be positive");
        }
        KvCommand.orRunningStore(cluster);
        KafkaCluster kafka = null;
        KvLocal local = null;
        try {
            AvroSerdes avro = AvroSerdes.connect(cluster.registryUrl);
            if (cluster.bootstrapServers == null) {
                System.err.println("kv bench: starting a local store: embedded broker, coordinator, " + workers
                    + " workers" + (noTransactions ? " (without Kafka transactions)" : "") + "...");
                kafka = LocalKafka.get().startEmbedded();
                cluster.bootstrapServers = kafka.bootstrapServers();
                local = KvLocal.start(cluster.bootstrapServers, avro, workers, !noTransactions);
            } else {
                KvSerdes.prepare(cluster.bootstrapServers, avro, 3);
            }
            KvSerdes serdes = new KvSerdes(avro);
            double baseline = kafkaTransactionsPerSecond(cluster.bootstrapServers, Duration.ofSeconds(5));
            System.err.printf("kv bench: baseline: one producer commits %.0f Kafka transactions/s%n", baseline);
            Load load = load(serdes, duration.dividedBy(3), duration);
            double rate = load.commits / (duration.toMillis() / 1000.0);
            boolean met = rate >= 2000 && load.percentile(99) <= 25;
            System.out.printf("kv bench: %d workers, %d concurrent clients, %d s measured: %d commits (%.0f/s), %d "
                    + "aborted, %d without answer; latency p50 %d ms, p99 %d ms, max %d ms%n", workers, clients,
                duration.toSeconds(), load.commits, rate, load.aborts, load.errors, load.percentile(50),
                load.percentile(99), load.percentile(100));
            System.out.printf("kv bench: baseline %.0f Kafka transactions/s (one producer, sequential); "
                + "ratio %.1fx; goal >= 2000 commits/s with p99 <= 25 ms: %s%n", baseline, rate / baseline,
                met ? "met" : "NOT met");
            return Cli.EXIT_OK;
        } finally {
            if (local != null) {
                local.close();
            }
            if (kafka != null) {
                kafka.close();
            }
        }
    }

    /** What the clients saw while measuring. */
    private record Load(long commits, long aborts, long errors, List<Long> latenciesMs) {
        long percentile(int p) {
            if (latenciesMs.isEmpty()) {
                return -1;
            }
            int index = (int) Math.ceil(p / 100.0 * latenciesMs.size()) - 1;
            return latenciesMs.get(Math.max(0, Math.min(latenciesMs.size() - 1, index)));
        }
    }

    private Load load(KvSerdes serdes, Duration warmup, Duration measured) throws InterruptedException {
        AtomicLong commits = new AtomicLong();
        AtomicLong aborts = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        long measureFrom = start + warmup.toNanos();
        long end = measureFrom + measured.toNanos();
        CountDownLatch done = new CountDownLatch(clients);
        try (KvClient client = KvClient.open(cluster.bootstrapServers, serdes, Duration.ofSeconds(30))) {
            for (int c = 0; c < clients; c++) {
                String prefix = "b" + c + "-";
                new Object() {
                    void next() {
                        long sent = System.nanoTime();
                        if (sent >= end) {
                            done.countDown();
                            return;
                        }
                        String key = "bench-" + ThreadLocalRandom.current().nextInt(keys);
                        client.set(key, prefix + sent).whenComplete((reply, e) -> {
                            long now = System.nanoTime();
                            if (sent >= measureFrom && now < end) {
                                if (e != null) {
                                    errors.incrementAndGet();
                                } else if (reply.getOk()) {
                                    commits.incrementAndGet();
                                    latencies.add(TimeUnit.NANOSECONDS.toMillis(now - sent));
                                } else {
                                    aborts.incrementAndGet();
                                }
                            }
                            next();
                        });
                    }
                }.next();
            }
            long lastReport = System.nanoTime();
            while (!done.await(1, TimeUnit.SECONDS)) {
                if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(5)) {
                    lastReport = System.nanoTime();
                    System.err.printf("kv bench: %d commits so far%n", commits.get());
                }
            }
        }
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        return new Load(commits.get(), aborts.get(), errors.get(), sorted);
    }

    /** Sequential begin/send/commit of one record with a fresh transactional producer. */
    private static double kafkaTransactionsPerSecond(String bootstrapServers, Duration time) {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KvSerdes.transactionalProducer(
            bootstrapServers, "kv-bench-baseline", KafkaClients.TRANSACTION_TIMEOUT_MS_DEFAULT))) {
            producer.initTransactions();
            long end = System.nanoTime() + time.toNanos();
            long start = System.nanoTime();
            long count = 0;
            // A record nobody reads as a reply: the key names no client.
            byte[] value = new byte[64];
            while (System.nanoTime() < end) {
                producer.beginTransaction();
                producer.send(new ProducerRecord<>(Topics.KV_REPLIES.name(), "kv-bench-baseline".getBytes(), value));
                producer.commitTransaction();
                count++;
            }
            return count / ((System.nanoTime() - start) / 1e9);
        }
    }
}
