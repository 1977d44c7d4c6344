package io.distpipe.chat.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.LocalKafka;
import io.distpipe.common.Poll;
import io.distpipe.topics.TopicAdmin;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import org.apache.kafka.clients.admin.Admin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chat console: five KRaft node JVMs, a schema registry and a chat server in this JVM, driven by the commands
 * {@code status}, {@code test}, {@code fail N|leader}, {@code start N|all}, {@code expect ok|fail} and {@code exit}, typed
 * or read from a script.
 */
public final class ChatDemo implements AutoCloseable {

    /** The demo's two users and their passwords (the demo is the only one who knows them). */
    public static final String ALICE = "alice";
    public static final String BOB = "bob";
    private static final char[] ALICE_PASSWORD = "alice-demo-password".toCharArray();
    private static final char[] BOB_PASSWORD = "bob-demo-password".toCharArray();

    /** How long {@code start N} waits for the node to serve and to rejoin the ISR of its partitions. */
    public static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    /** How long {@code fail leader} waits for the quorum to elect another leader. */
    public static final Duration ELECTION_TIMEOUT = Duration.ofSeconds(30);

    private static final Duration TOPIC_TIMEOUT = Duration.ofSeconds(60);
    private static final Logger LOG = LoggerFactory.getLogger(ChatDemo.class);

    /** Settings of the demo. */
    public record Options(Path dir, Duration writeTimeout, int hashIterations) {
        public static Options defaults(Path dir) {
            return new Options(dir, ChatServer.Config.WRITE_TIMEOUT_DEFAULT, Passwords.DEFAULT_ITERATIONS);
        }
    }

    /**
     * What one {@code test} gave.
     *
     * @param unacknowledgedEventIds the events a failed step attempted; none may ever become visible
     * @param messageId              the message alice sent and bob read, when the test passed
     */
    public record TestResult(boolean ok, long millis, String step, ChatException.Reason reason, String detail,
                             List<String> unacknowledgedEventIds, String messageId) {
    }

    /** A console line that is not a command. */
    public static final class UsageException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    private final Options options;
    private final PrintStream out;
    private final ChatNodes nodes;
    private final SchemaRegistryServer registry;
    private final ChatServer server;
    private final List<TestResult> results = new ArrayList<>();
    private Boolean expectOk;
    private int unexpected;
    private int testsRun;

    private ChatDemo(Options options, PrintStream out, ChatNodes nodes, SchemaRegistryServer registry,
                     ChatServer server) {
        this.options = options;
        this.out = out;
        this.nodes = nodes;
        this.registry = registry;
        this.server = server;
    }

    /** Starts the nodes, creates the topic, starts the registry and the chat server; reports progress on out. */
    public static ChatDemo start(Options options, PrintStream out) throws ChatException, IOException {
        out.printf("Starting %d KRaft nodes (broker+controller, one JVM each) in %s ...%n", ChatNodes.NODES,
                options.dir());
        ChatNodes nodes = ChatNodes.start(options.dir());
        SchemaRegistryServer registry = null;
        try {
            out.printf("Cluster of %d nodes ready in %.1f s at %s%n", ChatNodes.NODES, nodes.startMillis() / 1000.0,
                    nodes.bootstrapServers());
            try (Admin admin = KafkaClients.reachableAdmin(nodes.bootstrapServers(), "chat-demo-setup")) {
                // ensureTopics describes the topic right after creating it, which can race the metadata
                // propagation (UnknownTopicOrPartition); it is idempotent, so try again.
                Poll.untilPresent("topic " + Topics.CHAT_EVENTS.name() + " to be created and described",
                        TOPIC_TIMEOUT, () -> Optional.of(
                                TopicAdmin.ensureTopics(admin, List.of(Topics.CHAT_EVENTS, Topics.CHAT_EVENTS_DLQ),
                                        ChatNodes.NODES)));
            }
            registry = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0);
            long serverStart = System.nanoTime();
            ChatServer server = ChatServer.start(new ChatServer.Config(nodes.bootstrapServers(), registry.url(),
                    "demo", options.writeTimeout(), options.hashIterations(),
                    ChatServer.Config.CATCH_UP_TIMEOUT_DEFAULT));
            out.printf("Topic %s: %d partitions, replication %d, min.insync.replicas %d. Chat server 'demo' runs in "
                            + "this JVM (state read from the topic in %d ms); writes time out after %d s.%n",
                    Topics.CHAT_EVENTS.name(), Topics.CHAT_EVENTS.partitions(),
                    Topics.CHAT_EVENTS.replicationFactor(), Topics.CHAT_EVENTS.minInsyncReplicas(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - serverStart),
                    options.writeTimeout().toSeconds());
            out.printf("Other terminals: bin/distpipe chat client -b %s -r %s <command>%n",
                    nodes.bootstrapServers(), registry.url());
            return new ChatDemo(options, out, nodes, registry, server);
        } catch (ChatException | IOException | RuntimeException e) {
            if (registry != null) {
                registry.close();
            }
            nodes.close();
            throw e;
        }
    }

    public ChatNodes nodes() {
        return nodes;
    }

    public String registryUrl() {
        return registry.url();
    }

    /** Every test result so far, in order. */
    public List<TestResult> results() {
        return List.copyOf(results);
    }

    /** Tests whose result differed from the {@code expect} line before them. */
    public int unexpectedResults() {
        return unexpected;
    }

    /**
     * Checks that every line of a script is a command, before anything runs.
     *
     * @throws UsageException naming the first bad line
     */
    public static void validate(List<String> lines) {
        for (int i = 0; i < lines.size(); i++) {
            try {
                parse(lines.get(i));
            } catch (UsageException e) {
                throw new UsageException("line " + (i + 1) + ": " + e.getMessage());
            }
        }
    }

    /** Runs a script; returns 0 if every test gave the expected result and every command worked, else 1. */
    public int runScript(List<String> lines) {
        validate(lines);
        boolean commandFailed = false;
        for (String line : lines) {
            Optional<String[]> command = parse(line);
            if (command.isEmpty()) {
                continue;
            }
            out.println("> " + line.strip());
            try {
                if (!execute(command.get())) {
                    break;
                }
            } catch (RuntimeException e) {
                commandFailed = true;
                out.println("error: " + e.getMessage());
                LOG.warn("chat-demo: command '{}' failed.", line.strip(), e);
            }
        }
        out.printf("Script done: %d test(s), %d unexpected result(s)%s.%n", testsRun, unexpected,
                commandFailed ? ", and a command failed" : "");
        return unexpected == 0 && !commandFailed ? 0 : 1;
    }

    /** Reads commands until {@code exit} or the end of input; returns like {@link #runScript}. */
    public int interactive(BufferedReader in) throws IOException {
        out.println("Commands: status, test, fail N|leader, start N|all, expect ok|fail, help, exit");
        boolean commandFailed = false;
        while (true) {
            out.print("chat> ");
            out.flush();
            String line = in.readLine();
            if (line == null) {
                break;
            }
            try {
                Optional<String[]> command = parse(line);
                if (command.isPresent() && !execute(command.get())) {
                    break;
                }
            } catch (RuntimeException e) {
                commandFailed = true;
                out.println("error: " + e.getMessage());
            }
        }
        return unexpected == 0 && !commandFailed ? 0 : 1;
    }

    /** Runs one console line; returns false for {@code exit}. */
    public boolean execute(String line) {
        Optional<String[]> command = parse(line);
        return command.isEmpty() || execute(command.get());
    }

    private static Optional<String[]> parse(String line) {
        String stripped = line.strip();
        if (stripped.isEmpty() || stripped.startsWith("#")) {
            return Optional.empty();
        }
        String[] words = stripped.toLowerCase(Locale.ROOT).split("\\s+");
        boolean valid = switch (words[0]) {
            case "status", "test", "exit", "help" -> words.length == 1;
            case "fail" -> words.length == 2 && (words[1].equals("leader") || isNodeId(words[1]));
            case "start" -> words.length == 2 && (words[1].equals("all") || isNodeId(words[1]));
            case "expect" -> words.length == 2 && (words[1].equals("ok") || words[1].equals("fail"));
            default -> false;
        };
        if (!valid) {
            throw new UsageException("'" + stripped + "' is not a command; use status, test, fail N|leader, start N|all "
                    + "(N = 1.." + ChatNodes.NODES + "), expect ok|fail, help or exit.");
        }
        return Optional.of(words);
    }

    private static boolean isNodeId(String word) {
        return word.matches("[1-9]") && Integer.parseInt(word) <= ChatNodes.NODES;
    }

    private boolean execute(String[] words) {
        switch (words[0]) {
            case "status" -> printStatus(nodes.status());
            case "test" -> test();
            case "fail" -> fail(words[1]);
            case "start" -> {
                if (words[1].equals("all")) {
                    startAll();
                } else {
                    start(Integer.parseInt(words[1]));
                }
            }
            case "expect" -> expectOk = words[1].equals("ok");
            case "help" -> out.println("status | test | fail N | fail leader | start N | start all | expect ok|fail | exit");
            case "exit" -> {
                return false;
            }
            default -> throw new IllegalStateException("unhandled command " + words[0]);
        }
        return true;
    }

    /** Prints the status table. */
    public void printStatus(ChatNodes.Status status) {
        out.println("node  process   controller  partitions led  in ISR");
        for (ChatNodes.NodeStatus node : status.nodes()) {
            boolean known = status.partitionError() == null;
            out.printf("%-5d %-9s %-11s %-15s %s%n", node.id(), node.process(), node.controller(),
                    known ? Integer.toString(node.partitionsLed()) : "?",
                    known ? node.inIsr() + "/" + node.replicas() : "?");
        }
        if (status.quorumError() != null) {
            out.println("controller quorum: NO QUORUM - " + status.quorumError());
        } else if (status.leader().isEmpty()) {
            out.println("controller quorum: NO QUORUM - the voters answered but have no leader (epoch "
                    + status.leaderEpoch() + ")");
        } else {
            out.println("controller quorum: leader node " + status.leader().orElse(-1) + ", epoch "
                    + status.leaderEpoch() + ", " + live() + " of " + ChatNodes.NODES + " nodes online");
        }
        if (status.partitionError() != null) {
            out.println("partitions: " + status.partitionError());
        } else if (status.quorumError() != null || status.leader().isEmpty()) {
            out.println("(partition leaders and ISRs are the brokers' last known metadata: without a quorum they "
                    + "cannot change)");
        }
    }

    private long live() {
        return IntStream.rangeClosed(1, ChatNodes.NODES)
                .filter(id -> nodes.processState(id).equals("online")).count();
    }

    /** Runs the chat test: accounts for alice and bob, alice logs in and writes to bob, bob logs in and reads it. */
    public TestResult test() {
        long startNanos = System.nanoTime();
        List<String> attempted = new ArrayList<>();
        String step = "create or check the accounts";
        TestResult result;
        try {
            ensureAccount(ALICE, ALICE_PASSWORD, attempted);
            ensureAccount(BOB, BOB_PASSWORD, attempted);
            step = "log in as alice";
            String alice = server.login(ALICE, ALICE_PASSWORD);
            step = "send from alice to bob";
            String text = "hello bob, test " + (testsRun + 1) + " at " + Instant.now();
            String messageId = server.send(alice, BOB, text);
            step = "log in as bob";
            String bob = server.login(BOB, BOB_PASSWORD);
            step = "bob reads his inbox";
            List<ChatState.Message> inbox = server.read(bob);
            boolean found = inbox.stream().anyMatch(message -> message.messageId().equals(messageId));
            long millis = elapsed(startNanos);
            if (found) {
                result = new TestResult(true, millis, step, null, "bob read message " + messageId + " ("
                        + inbox.size() + " in his inbox)", List.of(), messageId);
            } else {
                result = new TestResult(false, millis, step, null, "message " + messageId
                        + " was acknowledged but is not in bob's inbox", List.of(), messageId);
            }
        } catch (ChatException e) {
            e.attemptedEventId().ifPresent(attempted::add);
            result = new TestResult(false, elapsed(startNanos), step, e.reason(), e.getMessage(),
                    List.copyOf(attempted), null);
        }
        testsRun++;
        results.add(result);
        report(result);
        return result;
    }

    private void ensureAccount(String user, char[] password, List<String> attempted) throws ChatException {
        if (!server.users().contains(user)) {
            try {
                server.createAccount(user, password);
            } catch (ChatException e) {
                if (e.reason() != ChatException.Reason.USER_EXISTS) {
                    throw e;
                }
            }
        }
    }

    private void report(TestResult result) {
        String verdict = result.ok()
                ? String.format("test: OK in %.1f s - %s", result.millis() / 1000.0, result.detail())
                : String.format("test: FAILED after %.1f s at '%s' - %s", result.millis() / 1000.0, result.step(),
                        result.detail());
        out.println(verdict);
        if (expectOk != null) {
            boolean asExpected = expectOk == result.ok();
            if (!asExpected) {
                unexpected++;
            }
            out.println(asExpected ? "  (as expected)" : "  UNEXPECTED: the script expected "
                    + (expectOk ? "ok" : "fail"));
            expectOk = null;
        }
    }

    private void fail(String which) {
        int id;
        if (which.equals("leader")) {
            OptionalInt leader = nodes.status().leader();
            if (leader.isEmpty()) {
                throw new IllegalStateException("there is no controller leader to fail (no quorum)");
            }
            id = leader.getAsInt();
        } else {
            id = Integer.parseInt(which);
        }
        LocalKafka.Node node = nodes.node(id);
        if (!node.isAlive()) {
            out.printf("node %d is already offline%n", id);
            return;
        }
        OptionalInt leaderBefore = which.equals("leader") ? OptionalInt.of(id) : nodes.status().leader();
        long pid = node.pid();
        long killNanos = System.nanoTime();
        node.kill();
        out.printf("node %d (pid %d) killed with SIGKILL%s%n", id, pid,
                leaderBefore.isPresent() && leaderBefore.getAsInt() == id ? "; it was the controller leader" : "");
        if (live() * 2 <= ChatNodes.NODES) {
            awaitQuorumLoss(killNanos);
        } else if (leaderBefore.isPresent() && leaderBefore.getAsInt() == id) {
            awaitNewLeader(id, killNanos);
        }
    }

    /** A leader without a majority keeps its title until it misses the followers' fetches; show when it gives up. */
    private void awaitQuorumLoss(long killNanos) {
        out.println("only " + live() + " of " + ChatNodes.NODES + " nodes are online: the controller quorum has no "
                + "majority; waiting for it to notice ...");
        try {
            Poll.until("the controller quorum to report no leader", ELECTION_TIMEOUT,
                    () -> nodes.status().leader().isEmpty());
            out.printf("controller quorum lost: no leader %.1f s after the kill%n", elapsed(killNanos) / 1000.0);
        } catch (Poll.PollTimeoutException e) {
            out.println("the quorum still names a leader: " + e.getMessage());
        }
    }

    private void awaitNewLeader(int old, long killNanos) {
        try {
            int leader = Poll.untilPresent("a controller leader other than node " + old, ELECTION_TIMEOUT, () -> {
                OptionalInt now = nodes.status().leader();
                return now.isPresent() && now.getAsInt() != old ? Optional.of(now.getAsInt()) : Optional.empty();
            });
            out.printf("node %d is the new controller leader, %.1f s after the kill%n", leader,
                    elapsed(killNanos) / 1000.0);
        } catch (Poll.PollTimeoutException e) {
            out.println("no new controller leader: " + e.getMessage());
        }
    }

    private void startAll() {
        List<Integer> stopped = IntStream.rangeClosed(1, ChatNodes.NODES)
                .filter(id -> !nodes.node(id).isAlive()).boxed().toList();
        if (stopped.isEmpty()) {
            out.println("all nodes are running");
            return;
        }
        // Launch them all before waiting: alone, none of them may make a majority.
        long startNanos = System.nanoTime();
        stopped.forEach(this::launch);
        stopped.forEach(id -> awaitStarted(id, startNanos));
        awaitServerWritable(startNanos);
    }

    /**
     * After a refused write the chat server re-initializes its transactional id in the background; right after a
     * quorum returns that waits for the coordinator to abort the refused write's transaction (seconds). Recovery is
     * complete once the server can write again.
     */
    private void awaitServerWritable(long startNanos) {
        if (!server.producerInitializing()) {
            return;
        }
        try {
            if (server.awaitWritable(START_TIMEOUT)) {
                out.printf("chat server ready to write after %.1f s (its transactional id initialized again once the "
                    + "coordinator had aborted the refused write's transaction)%n", elapsed(startNanos) / 1000.0);
            } else {
                out.printf("chat server still cannot write after %.1f s: its transactional id is not initialized "
                    + "again%n", elapsed(startNanos) / 1000.0);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void start(int id) {
        LocalKafka.Node node = nodes.node(id);
        if (node.isReady() && nodes.status().caughtUp(id)) {
            out.printf("node %d is already online%n", id);
            return;
        }
        long startNanos = System.nanoTime();
        if (!node.isAlive()) {
            launch(id);
        }
        awaitStarted(id, startNanos);
    }

    private void launch(int id) {
        LocalKafka.Node node = nodes.node(id);
        node.launchIfStopped();
        out.printf("node %d launched (pid %d) on its old data directory%n", id, node.pid());
    }

    /** Waits until the node serves and is in the ISR of every partition it replicates, i.e. has caught up. */
    private void awaitStarted(int id, long startNanos) {
        LocalKafka.Node node = nodes.node(id);
        try {
            Poll.until("node " + id + " to serve", START_TIMEOUT, () -> {
                if (!node.isAlive()) {
                    throw new Poll.PollAbortedException("node " + id + " exited; see " + node.logFile());
                }
                return node.isReady();
            });
            double readySeconds = elapsed(startNanos) / 1000.0;
            Poll.until("node " + id + " to rejoin the ISR of all its partitions", START_TIMEOUT,
                    () -> nodes.status().caughtUp(id));
            out.printf("node %d online after %.1f s, caught up (in the ISR of all its partitions) after %.1f s%n",
                    id, readySeconds, elapsed(startNanos) / 1000.0);
        } catch (Poll.PollTimeoutException | Poll.PollAbortedException e) {
            out.printf("node %d is %s: %s%n", id, nodes.processState(id), e.getMessage());
        }
    }

    private static long elapsed(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    /** Stops the chat server, the registry and every node this demo started. */
    @Override
    public void close() {
        out.println("Stopping the chat server, the registry and the nodes ...");
        try {
            server.close();
        } finally {
            try {
                registry.close();
            } finally {
                nodes.close();
            }
        }
        out.println("Stopped. Data and node logs are in " + options.dir());
    }
}
