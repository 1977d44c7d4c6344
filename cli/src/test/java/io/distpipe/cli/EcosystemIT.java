package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.primes.dedup.DedupTopology;
import io.distpipe.primes.job.PrimesJob;
import io.distpipe.primes.plan.NumberParser;
import io.distpipe.testkit.PrimesOracle;
import io.distpipe.testkit.Tools;
import io.distpipe.topics.TopicSpec;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.tools.TopicCommand;
import org.apache.kafka.tools.consumer.ConsoleConsumer;
import org.apache.kafka.tools.consumer.group.ConsumerGroupCommand;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Other people's tools on the topics of one real primes job (embedded broker, our HTTP registry): Kafka's own
 * command-line tools (kafka-tools 4.3.1, run in-process) with the exact commands of the "Kafka's own tools" block of
 * docs/operations.md, {@code distpipe consume} printing the same lines, and a Node.js client (kafkajs with
 * {@code @kafkajs/confluent-schema-registry}, installed by {@code npm ci} from the committed lockfile in
 * {@code interop/}) decoding the primes through the registry.
 */
class EcosystemIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path INTEROP = Path.of("..", "interop").toAbsolutePath().normalize();
    private static final long NPM_TIMEOUT_S = 300;
    private static final long NODE_TIMEOUT_S = 120;
    private static final byte[] POISON = {0, 0, 0, 0x30, 0x39, 9, 9};

    private static EmbeddedKafka kafka;
    private static SchemaRegistryServer registry;
    private static PrimesOracle oracle;
    private static List<String> readme;
    private static volatile Integer firstExit;
    private static final ch.qos.logback.classic.Logger ROOT = (ch.qos.logback.classic.Logger)
        org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private static ch.qos.logback.core.Appender<ch.qos.logback.classic.spi.ILoggingEvent> consoleAppender;

    @TempDir
    static Path dir;

    /** Thrown by Kafka's Exit instead of ending the JVM. */
    private static final class ExitCalled extends RuntimeException {
        final int code;

        ExitCalled(int code, String message) {
            super("tool exited with " + code + (message == null ? "" : ": " + message));
            this.code = code;
        }
    }

    private record Run(int code, String out, String err) {
    }

    private static Run uniqueByConsoleConsumer;

    /** The documented console-consumer command on primes.unique, run once for the tests that compare with it. */
    private static synchronized Run uniqueByConsoleConsumer() {
        if (uniqueByConsoleConsumer == null) {
            uniqueByConsoleConsumer = run(readme("kafka-console-consumer.sh", "primes.unique"));
        }
        return uniqueByConsoleConsumer;
    }

    @BeforeAll
    static void runAJob() throws Exception {
        // A tool may catch the first exit's exception and exit again (TopicCommand exits 0 in a finally block
        // that its main wraps with a catch-all and an exit 1): the first code is the tool's answer.
        Exit.setExitProcedure((code, message) -> {
            if (firstExit == null) {
                firstExit = code;
            }
            throw new ExitCalled(code, message);
        });
        Exit.setHaltProcedure((code, message) -> {
            throw new ExitCalled(code, message);
        });
        Exit.setShutdownHookAdder((name, hook) -> { });
        // The test's log appender writes to System.out; a tool's standard output must hold only what it prints
        // (the scripts of a Kafka install log to stderr).
        consoleAppender = ROOT.getAppender("CONSOLE");
        ROOT.detachAppender(consoleAppender);
        readme = readmeCommands("kafka-tools");
        assertThat(readme).hasSizeGreaterThanOrEqualTo(6);
        kafka = EmbeddedKafka.startTemporary();
        registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
        Path input = Files.createDirectories(dir.resolve("input"));
        oracle = new PrimesOracle(2_000);
        oracle.writeRange(input.resolve("a.txt"), 0, 2_000);
        // Numbers beyond a long travel as BigInteger bytes: every reader must print those exactly too.
        oracle.writeRandom(input.resolve("huge.txt"), 300, 90, 11);
        Files.createDirectories(dir.resolve("work"));
        new PrimesJob(new PrimesJob.Config(input, dir.resolve("primes.txt"), 1, kafka.bootstrapServers(),
            registry.url(), 500, NumberParser.DEFAULT_MAX_DIGITS, dir.resolve("work")), new PrimesJob.Observer() {
            }).run();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(KafkaClients.producer(
            kafka.bootstrapServers(), "it-poison"))) {
            ProducerRecord<byte[], byte[]> poison = new ProducerRecord<>(Topics.PRIMES_TASKS_DLQ.name(), 0,
                "job-x/a.txt#0".getBytes(StandardCharsets.UTF_8), POISON);
            poison.headers().add("reason", "unknown schema id 12345".getBytes(StandardCharsets.UTF_8));
            producer.send(poison).get();
        }
    }

    @AfterAll
    static void stop() {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
        Exit.resetExitProcedure();
        Exit.resetHaltProcedure();
        Exit.resetShutdownHookAdder();
        if (consoleAppender != null) {
            ROOT.addAppender(consoleAppender);
        }
    }

    /**
     * The commands between the {@code <!-- NAME:begin/end -->} markers of docs/operations.md, continuation lines
     * joined.
     */
    private static List<String> readmeCommands(String name) throws Exception {
        String text = Files.readString(Path.of("..", "docs", "operations.md"));
        String block = text.substring(text.indexOf("<!-- " + name + ":begin -->"),
            text.indexOf("<!-- " + name + ":end -->"));
        List<String> commands = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : block.lines().toList()) {
            if (line.startsWith("<!--") || line.startsWith("```") || line.isBlank()) {
                continue;
            }
            current.append(line.replaceAll("\\\\$", "").strip()).append(' ');
            if (!line.endsWith("\\")) {
                commands.add(current.toString().strip());
                current.setLength(0);
            }
        }
        assertThat(commands).as("docs/operations.md %s block", name).isNotEmpty();
        return commands;
    }

    private static String readme(String tool, String... contains) {
        return readme.stream().filter(c -> c.startsWith(tool + " ")).filter(c -> List.of(c.split(" "))
                .containsAll(List.of(contains))).findFirst()
            .orElseThrow(() -> new AssertionError("docs/operations.md has no " + tool + " command with "
                + List.of(contains)));
    }

    /** Runs one documented command line with the tool's main class, in this JVM, capturing its output. */
    private static Run run(String commandLine) {
        String[] words = commandLine.replace("$BOOTSTRAP", kafka.bootstrapServers())
            .replace("$REGISTRY", registry.url()).split("\\s+");
        String[] args = Arrays.copyOfRange(words, 1, words.length);
        Consumer<String[]> main = switch (words[0]) {
            case "kafka-topics.sh" -> TopicCommand::main;
            case "kafka-consumer-groups.sh" -> ConsumerGroupCommand::main;
            case "kafka-console-consumer.sh" -> a -> {
                try {
                    ConsoleConsumer.main(a);
                } catch (ExitCalled e) {
                    throw e;
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            };
            default -> throw new AssertionError("no tool class for " + words[0]);
        };
        return capture(() -> main.accept(args));
    }

    private static synchronized Run capture(Runnable action) {
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = 0;
        firstExit = null;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            action.run();
        } catch (ExitCalled e) {
            code = firstExit == null ? e.code : firstExit;
        } finally {
            System.out.flush();
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static List<JsonNode> jsonLines(String text) throws Exception {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : text.lines().filter(l -> !l.isBlank()).toList()) {
            lines.add(JSON.readTree(line));
        }
        return lines;
    }

    @Test
    void shouldListAndDescribeOurTopicsWithKafkaTopics() {
        Run list = run(readme("kafka-topics.sh", "--list"));
        Run describe = run(readme("kafka-topics.sh", "--describe"));

        assertThat(list.code()).as(list.err()).isZero();
        Set<String> listed = list.out().lines().map(String::strip).collect(Collectors.toSet());
        assertThat(listed).containsAll(Topics.external().stream().map(TopicSpec::name).toList());
        assertThat(describe.code()).as(describe.err()).isZero();
        assertThat(describe.out()).contains("Topic: primes.unique", "PartitionCount: "
            + Topics.PRIMES_UNIQUE.partitions(), "cleanup.policy=delete");
        assertThat(describe.out().lines().filter(l -> l.contains("Partition: "))).hasSize(
            Topics.PRIMES_UNIQUE.partitions());
    }

    @Test
    void shouldPrintEachUniquePrimeAsJsonWithTheConsoleConsumerAndOurFormatter() throws Exception {
        Run consumed = uniqueByConsoleConsumer();

        assertThat(consumed.code()).as(consumed.err()).isZero();
        List<JsonNode> lines = jsonLines(consumed.out());
        assertThat(lines).allSatisfy(l -> {
            assertThat(l.get("topic").asText()).isEqualTo("primes.unique");
            assertThat(l.get("key").asText()).isEqualTo(l.get("value").get("number").asText());
            assertThat(l.get("keySchemaId").asInt()).isPositive();
            assertThat(l.get("valueSchemaId").asInt()).isPositive().isNotEqualTo(l.get("keySchemaId").asInt());
            assertThat(l.has("error")).isFalse();
        });
        List<String> primes = lines.stream().map(l -> l.get("value").get("number").asText()).sorted(
            Comparator.comparing(BigInteger::new)).toList();
        assertThat(primes).as("each prime once, exactly the oracle's").isEqualTo(oracle.expectedLines());
        assertThat(primes).anySatisfy(p -> assertThat(new BigInteger(p).bitLength()).isEqualTo(90));
        assertThat(consumed.err()).contains("Processed a total of " + primes.size() + " messages");
    }

    @Test
    void shouldPrintDeadLettersAsBase64WithTheReasonHeader() throws Exception {
        Run consumed = run(readme("kafka-console-consumer.sh", "primes.tasks.dlq"));

        assertThat(consumed.code()).as(consumed.err()).isZero();
        List<JsonNode> lines = jsonLines(consumed.out());
        assertThat(lines).hasSize(1);
        JsonNode line = lines.get(0);
        assertThat(line.get("value").get("base64").asText()).isEqualTo(Base64.getEncoder().encodeToString(POISON));
        assertThat(new String(Base64.getDecoder().decode(line.get("key").get("base64").asText()),
            StandardCharsets.UTF_8)).isEqualTo("job-x/a.txt#0");
        assertThat(line.get("headers").get("reason").asText()).isEqualTo("unknown schema id 12345");
    }

    @Test
    void shouldDescribeTheDedupGroupWithKafkaConsumerGroups() {
        Run list = run(readme("kafka-consumer-groups.sh", "--list"));
        Run describe = run(readme("kafka-consumer-groups.sh", "--describe"));

        assertThat(list.code()).as(list.err()).isZero();
        assertThat(list.out().lines().map(String::strip)).contains(DedupTopology.APPLICATION_ID);
        assertThat(describe.code()).as(describe.err()).isZero();
        List<String> rows = describe.out().lines()
            .filter(l -> l.startsWith(DedupTopology.APPLICATION_ID + " ") && l.contains(Topics.PRIMES_FOUND.name()))
            .toList();
        assertThat(rows).as(describe.out()).hasSize(Topics.PRIMES_FOUND.partitions());
    }

    @Test
    void shouldPrintTheSameLinesWithDistpipeConsume() throws Exception {
        Run tool = uniqueByConsoleConsumer();
        int count = oracle.expectedLines().size();

        Run ours = capture(() -> assertThat(Main.run("consume", "--topic", "primes.unique", "--from-beginning",
            "--max", Integer.toString(count), "--print-schema-id", "--bootstrap-servers", kafka.bootstrapServers(),
            "--registry-url", registry.url())).isEqualTo(Cli.EXIT_OK));

        assertThat(new TreeSet<>(ours.out().lines().toList())).isEqualTo(new TreeSet<>(tool.out().lines().toList()));
        assertThat(ours.out().lines()).hasSize(count);
        assertThat(ours.err()).contains("consume: " + count + " records from primes.unique (stopped by --max");
    }

    @Test
    void shouldFailInOneSentenceWhenTheTopicDoesNotExist() {
        Run ours = capture(() -> assertThat(Main.run("consume", "--topic", "no.such.topic", "--max", "1",
            "--bootstrap-servers", kafka.bootstrapServers(), "--registry-url", registry.url()))
            .isEqualTo(Cli.EXIT_FAILURE));

        assertThat(ours.err().strip()).isEqualTo("distpipe consume: Topic no.such.topic does not exist on "
            + kafka.bootstrapServers() + ".");
    }

    private record Result(int code, String out, String err) {
    }

    private static Result exec(List<String> command, long timeoutS) throws Exception {
        return exec(command, timeoutS, Map.of());
    }

    private static Result exec(List<String> command, long timeoutS, Map<String, String> env) throws Exception {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).directory(INTEROP.toFile())
            .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().put("npm_config_update_notifier", "false");
        builder.environment().putAll(env);
        Process process = builder.start();
        if (!process.waitFor(timeoutS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutS + " s; "
                + "stderr: " + Files.readString(err));
        }
        return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void shouldDecodeTheUniquePrimesOfARealRunWithKafkajsThroughTheRegistry() throws Exception {
        Tools.require(Tools.runs("node", "--version"), "node is not installed (apt-get install nodejs npm): "
            + "the foreign-client check is skipped");
        Tools.require(Tools.runs("npm", "--version"), "npm is not installed (apt-get install npm): "
            + "the foreign-client check is skipped");

        Result install = exec(List.of("npm", "ci", "--no-audit", "--no-fund"), NPM_TIMEOUT_S);
        assertThat(install.code()).as("npm ci in %s failed:%n%s%n%s", INTEROP, install.out(), install.err())
            .isZero();

        Result read = exec(List.of("node", "consume-primes.js", "--bootstrap", kafka.bootstrapServers(),
            "--registry", registry.url(), "--topic", "primes.unique", "--idle-ms", "3000", "--timeout-ms", "60000"),
            NODE_TIMEOUT_S);

        assertThat(read.code()).as("node consume-primes.js: %s", read.err()).isZero();
        List<String> decoded = new ArrayList<>(read.out().lines().toList());
        decoded.sort(Comparator.comparing(BigInteger::new));
        assertThat(decoded).as("primes decoded by kafkajs, each once").isEqualTo(oracle.expectedLines());
        assertThat(read.err()).contains(oracle.expectedCount() + " records from primes.unique, 0 not decodable");
    }

    @Test
    void shouldListTopicsAndReadRawBytesWithKcat() throws Exception {
        Tools.require(Tools.runs("kcat", "-V"), "kcat is not installed (apt-get install kcat): the kcat lines of "
            + "docs/operations.md are not checked");
        List<String> lines = readmeCommands("kcat");
        Map<String, String> env = Map.of("BOOTSTRAP", kafka.bootstrapServers());
        List<Result> results = new ArrayList<>();
        for (String line : lines) {
            Result r = exec(List.of("bash", "-c", line), NODE_TIMEOUT_S, env);
            assertThat(r.code()).as("%s: %s", line, r.err()).isZero();
            results.add(r);
        }

        assertThat(results).hasSize(3);
        assertThat(results.get(0).out()).contains("topic \"primes.unique\" with " + Topics.PRIMES_UNIQUE.partitions()
            + " partitions");
        assertThat(results.get(1).out().lines().toList()).hasSize(5)
            .allMatch(l -> l.matches("p\\d+ o\\d+ key=\\d+ bytes value=\\d+ bytes"));
        assertThat(results.get(2).out()).as("magic byte 0, then the schema id").startsWith("000000 00 00 00 00");
    }
}
