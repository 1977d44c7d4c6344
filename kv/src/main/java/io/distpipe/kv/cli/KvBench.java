package io.distpipe.kv.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.KafkaCluster;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.common.command.HeartbeatOptions;
import io.distpipe.kv.KvReply;
import io.distpipe.kv.store.History;
import io.distpipe.kv.store.KvClient;
import io.distpipe.kv.store.KvHops;
import io.distpipe.kv.store.KvLoad;
import io.distpipe.kv.store.KvLocal;
import io.distpipe.kv.store.KvSerdes;
import io.distpipe.kv.store.Linearizability;
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
 * {@code distpipe kv bench}: commits per second and latency of SETs (and GETs, with {@code --read-ratio}) from many
 * concurrent clients, against a baseline measured in the same run after the warm-up: how many Kafka transactions one
 * producer commits per second, one after the other (a two-phase commit that spent one Kafka transaction per phase per
 * client transaction could not beat it).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = {
    "Benchmark the key-value store: concurrent clients SET (and GET) random keys for a while; prints commits/s, "
        + "p50/p99 latency and the ratio to one producer's sequential Kafka transactions per second.",
    "Runs a local store (embedded broker, in-process coordinator and workers) unless --bootstrap-servers or a "
        + "store from kv up is there.",
    "Goals on a 2-core machine with 3 workers: 1 client p50 <= 8 ms and p99 <= 20 ms; 64 clients >= 2,000 "
        + "commits/s with p99 <= 50 ms."})
final class KvBench implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "3",
        description = "Workers of the local store (default ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--clients", paramLabel = "N", defaultValue = "64",
        description = "Concurrent clients, each with one operation in flight (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--duration", paramLabel = "DURATION", defaultValue = "15s",
        converter = HeartbeatOptions.DurationConverter.class,
        description = "Measured time after a warm-up of a third of it (default ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--keys", paramLabel = "N", defaultValue = "100000",
        description = "Distinct keys the clients pick from at random (default ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--read-ratio", paramLabel = "R", defaultValue = "0",
        description = "Share of GETs among the operations, 0 to 1 (default ${DEFAULT-VALUE}).")
    double readRatio;

    @Option(names = "--history", paramLabel = "FILE",
        description = "Record every operation of every client (warm-up included) as JSON lines (invoke, ok, fail, "
            + "info) to FILE, a new file, and check the history for linearizability at the end.")
    Path history;

    @Option(names = "--json", description = "Print one JSON object with the figures on standard output.")
    boolean json;

    @Option(names = "--no-transactions", description = "Local workers answer without Kafka transactions.")
    boolean noTransactions;

    @Override
    public Integer call() throws Exception {
        if (workers < 1 || clients < 1 || keys < 1 || duration.isNegative() || duration.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "--workers, --clients, --keys and --duration must be positive");
        }
        if (readRatio < 0 || readRatio > 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--read-ratio must be within 0 and 1");
        }
        if (history != null && Files.exists(history)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--history " + history + " exists; the "
                + "benchmark writes a new file and never overwrites one");
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
            KvLoad.Options options = new KvLoad.Options(clients, keys, readRatio, "bench-");
            KvLoad.Result load;
            double baseline;
            long measuredFromMs;
            try (History recorded = history == null ? null : History.open(history);
                 KvClient client = KvClient.open(cluster.bootstrapServers, serdes, Duration.ofSeconds(30))) {
                // Warm up first (JIT, connections, the broker's caches), then the baseline, then the measured load:
                // measured cold, one producer's transactions came out at a third of their warm rate.
                Duration warmup = duration.dividedBy(3);
                System.err.printf("kv bench: warming up for %d s...%n", warmup.toSeconds());
                KvLoad.run(client, options, recorded, Long.MAX_VALUE, System.nanoTime() + warmup.toNanos(),
                    () -> false, null, null);
                baseline = kafkaTransactionsPerSecond(cluster.bootstrapServers, serdes, Duration.ofSeconds(5));
                System.err.printf("kv bench: baseline: one producer commits %.0f Kafka transactions/s; measuring "
                    + "for %d s...%n", baseline, duration.toSeconds());
                long start = System.nanoTime();
                measuredFromMs = System.currentTimeMillis();
                load = KvLoad.run(client, options, recorded, start, start + duration.toNanos(), () -> false, null,
                    commits -> System.err.printf("kv bench: %d commits so far%n", commits));
            }
            Linearizability.Result checked = history == null ? null : Linearizability.check(History.read(history));
            KvHops.Hops hops = KvHops.measure(cluster.bootstrapServers, serdes, measuredFromMs);
            report(load, baseline, checked, hops);
            return checked == null || checked.linearizable() ? Cli.EXIT_OK : Cli.EXIT_FAILURE;
        } finally {
            if (local != null) {
                local.close();
            }
            if (kafka != null) {
                kafka.close();
            }
        }
    }

    private void report(KvLoad.Result load, double baseline, Linearizability.Result checked, KvHops.Hops hops)
        throws IOException {
        double seconds = duration.toMillis() / 1000.0;
        double rate = load.commits() / seconds;
        double p50 = KvLoad.Result.percentileMs(load.writeMicros(), 50);
        double p99 = KvLoad.Result.percentileMs(load.writeMicros(), 99);
        double max = KvLoad.Result.percentileMs(load.writeMicros(), 100);
        String goal;
        boolean met;
        if (clients == 1) {
            goal = "1 client: p50 <= 8 ms and p99 <= 20 ms";
            met = p50 >= 0 && p50 <= 8 && p99 <= 20;
        } else if (clients >= 64) {
            goal = clients + " clients: >= 2000 commits/s with p99 <= 50 ms";
            met = rate >= 2000 && p99 >= 0 && p99 <= 50;
        } else {
            goal = null;
            met = false;
        }
        if (json) {
            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("commits_per_s", round(rate));
            figures.put("reads_per_s", round(load.reads() / seconds));
            figures.put("p50_ms", p50);
            figures.put("p99_ms", p99);
            figures.put("max_ms", max);
            figures.put("read_p50_ms", KvLoad.Result.percentileMs(load.readMicros(), 50));
            figures.put("read_p99_ms", KvLoad.Result.percentileMs(load.readMicros(), 99));
            figures.put("aborted", load.aborted());
            figures.put("failed_reads", load.failedReads());
            figures.put("unanswered", load.unanswered());
            figures.put("clients", clients);
            figures.put("workers", workers);
            figures.put("keys", keys);
            figures.put("read_ratio", readRatio);
            figures.put("duration_s", seconds);
            figures.put("worker_transactions", !noTransactions);
            figures.put("baseline_transactions_per_s", round(baseline));
            figures.put("ratio", round(rate / baseline));
            figures.put("goal", goal);
            figures.put("goal_met", goal == null ? null : met);
            figures.put("linearizable", checked == null ? null : checked.linearizable());
            figures.put("hops", hops.asMap());
            System.out.println(JSON.writeValueAsString(figures));
        } else {
            System.out.printf("kv bench: %d workers, %d concurrent clients, %d s measured: %d commits (%.0f/s), "
                    + "%d reads (%.0f/s), %d aborted, %d without answer; commit latency p50 %.1f ms, p99 %.1f ms, "
                    + "max %.1f ms%n", workers, clients, duration.toSeconds(), load.commits(), rate, load.reads(),
                load.reads() / seconds, load.aborted(), load.unanswered(), p50, p99, max);
            if (load.reads() > 0) {
                System.out.printf("kv bench: read latency p50 %.1f ms, p99 %.1f ms%n",
                    KvLoad.Result.percentileMs(load.readMicros(), 50), KvLoad.Result.percentileMs(load.readMicros(),
                        99));
            }
            System.out.printf("kv bench: baseline %.0f Kafka transactions/s (one producer, sequential); ratio %.1fx%s%n",
                baseline, rate / baseline, goal == null ? "" : "; goal " + goal + ": " + (met ? "met" : "NOT met"));
            System.out.printf("kv bench: where a committed SET's time goes, means over %d transactions (record "
                + "timestamps, ms):%n", hops.transactions());
            hops.describe().forEach(System.out::println);
        }
        if (checked != null) {
            System.err.println("kv bench: history " + history + ": " + checked.summary());
        }
    }

    private static double round(double value) {
        return Math.round(value * 10) / 10.0;
    }

    /** Sequential begin/send/commit of one record with a fresh transactional producer. */
    private static double kafkaTransactionsPerSecond(String bootstrapServers, KvSerdes serdes, Duration time) {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KvSerdes.transactionalProducer(
            bootstrapServers, "kv-bench-baseline", KafkaClients.TRANSACTION_TIMEOUT_MS_DEFAULT))) {
            producer.initTransactions();
            long end = System.nanoTime() + time.toNanos();
            long start = System.nanoTime();
            long count = 0;
            // A reply nobody waits for: it names no client.
            byte[] value = serdes.replyBytes(KvReply.newBuilder().setRequestId("kv-bench-baseline")
                .setClientId("kv-bench-baseline").setOk(true).setMessage("baseline").build());
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
