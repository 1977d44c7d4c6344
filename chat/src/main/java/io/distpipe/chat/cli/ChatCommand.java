package io.distpipe.chat.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import io.distpipe.chat.server.ChatDemo;
import io.distpipe.chat.server.ChatException;
import io.distpipe.chat.server.ChatServer;
import io.distpipe.chat.server.ChatState;
import io.distpipe.chat.server.Passwords;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.HeartbeatOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code distpipe chat}: the fault-tolerant chat's client operations and its five-node demo console. */
@Command(name = "chat", mixinStandardHelpOptions = true,
    description = "Chat whose state is a log of Avro events on a five-node KRaft quorum (replication 5, "
        + "min.insync.replicas 3): survives two node failures and refuses writes without a majority.",
    subcommands = {ChatCommand.Client.class, ChatCommand.Demo.class})
final class ChatCommand implements Runnable {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Choose a subcommand: client or demo.");
    }

    /** {@code distpipe chat demo}: five node JVMs, a registry and a chat server, driven by console commands. */
    @Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Start five combined broker+controller KRaft nodes (one JVM each), a schema registry and a "
            + "chat server (in this JVM; its state comes from the chat.events topic), then take commands:",
            "  status          node, online/offline/starting, controller leader/follower, partitions led, in ISR",
            "  test            create/check alice and bob, alice logs in and writes to bob, bob reads it",
            "  fail N|leader   kill node N (or the controller leader) with SIGKILL",
            "  start N|all     restart node N (or every stopped node) on its data directory; waits until it serves "
                + "and is in the ISR of all its partitions",
            "  expect ok|fail  the result the next test must give (scripts exit 1 otherwise)",
            "  exit            stop everything the demo started",
            "Exit code: 0 when every test gave the expected result, 1 otherwise, 2 for a bad script line."})
    static final class Demo implements Callable<Integer> {

        @Option(names = "--script", paramLabel = "FILE",
            description = "Run the commands in FILE (one per line, # comments) instead of reading the console.")
        Path script;

        @Option(names = "--dir", paramLabel = "DIR",
            description = "Directory for the nodes' data and logs (default: a new temporary directory).")
        Path dir;

        @Option(names = "--write-timeout", paramLabel = "DURATION", defaultValue = "10s",
            converter = HeartbeatOptions.DurationConverter.class,
            description = "How long a write may wait for a quorum before it is refused (default ${DEFAULT-VALUE}).")
        Duration writeTimeout;

        @Option(names = "--hash-iterations", paramLabel = "N", defaultValue = "" + Passwords.DEFAULT_ITERATIONS,
            description = "PBKDF2 iterations for new accounts (default ${DEFAULT-VALUE}).")
        int hashIterations;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            List<String> lines = null;
            if (script != null) {
                if (!Files.isReadable(script)) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "Cannot read the script " + script
                        + ".");
                }
                lines = Files.readAllLines(script, StandardCharsets.UTF_8);
                try {
                    ChatDemo.validate(lines);
                } catch (ChatDemo.UsageException e) {
                    throw new CommandLine.ParameterException(spec.commandLine(), script + " " + e.getMessage());
                }
            }
            Path data = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("distpipe-chat-");
            try (ChatDemo demo = ChatDemo.start(new ChatDemo.Options(data, writeTimeout, hashIterations),
                    System.out)) {
                if (lines != null) {
                    return demo.runScript(lines);
                }
                return demo.interactive(new BufferedReader(new InputStreamReader(System.in,
                    StandardCharsets.UTF_8)));
            }
        }
    }

    /** {@code distpipe chat client}: one chat operation against a running chat cluster. */
    @Command(name = "client", mixinStandardHelpOptions = true,
        description = {"One chat operation. Each call reads the chat.events topic from the beginning to rebuild the "
            + "chat state, performs the operation (writes are Kafka transactions acknowledged by a quorum) and exits.",
            "The demo prints the -b and -r values to use."},
        subcommands = {CreateAccount.class, Login.class, Send.class, Read.class, ListUsers.class})
    static final class Client implements Runnable {

        @Option(names = {"-b", "--bootstrap-servers", "--bootstrap-server"}, required = true, paramLabel = "HOST:PORT[,...]",
            description = "The chat cluster's nodes.")
        String bootstrapServers;

        @Option(names = {"-r", "--registry-url"}, required = true, paramLabel = "URL",
            description = "The schema registry the chat events are written with (the demo's http://... URL).")
        String registryUrl;

        @Option(names = "--write-timeout", paramLabel = "DURATION", defaultValue = "10s",
            converter = HeartbeatOptions.DurationConverter.class,
            description = "How long a write may wait for a quorum before it is refused (default ${DEFAULT-VALUE}).")
        Duration writeTimeout;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(),
                "Choose an operation: create-account, login, send, read or list-users.");
        }

        ChatServer connect() throws ChatException {
            return ChatServer.start(ChatServer.Config.of(bootstrapServers, registryUrl,
                "client-" + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime()))
                .withWriteTimeout(writeTimeout).withCatchUpTimeout(writeTimeout.plus(writeTimeout)));
        }
    }

    /** Runs an operation and turns a refused one into one line on stderr and exit code 1. */
    abstract static class Operation implements Callable<Integer> {

        @ParentCommand
        Client client;

        @Spec
        CommandLine.Model.CommandSpec spec;

        abstract void run(ChatServer server) throws ChatException;

        @Override
        public Integer call() {
            try (ChatServer server = client.connect()) {
                run(server);
                return Cli.EXIT_OK;
            } catch (ChatException e) {
                spec.commandLine().getErr().println("distpipe chat client " + spec.name() + ": "
                    + e.reason().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ": " + e.getMessage());
                return Cli.EXIT_FAILURE;
            }
        }

        static char[] password(char[] given) throws ChatException {
            if (given != null) {
                return given;
            }
            Console console = System.console();
            if (console != null) {
                char[] typed = console.readPassword("Password: ");
                if (typed != null) {
                    return typed;
                }
            } else {
                try {
                    String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                        .readLine();
                    if (line != null) {
                        return line.toCharArray();
                    }
                } catch (IOException e) {
                    throw new ChatException(ChatException.Reason.INVALID_INPUT, "Cannot read the password.", e);
                }
            }
            throw new ChatException(ChatException.Reason.INVALID_INPUT, "No password given.");
        }
    }

    /** Options naming the session a login printed. */
    static final class SessionOption {
        @Option(names = {"-s", "--session"}, paramLabel = "TOKEN", defaultValue = "${env:DISTPIPE_CHAT_SESSION}",
            description = "The session token login printed (default: $DISTPIPE_CHAT_SESSION).")
        String session;
    }

    @Command(name = "create-account", mixinStandardHelpOptions = true,
        description = "Create an account; only a salted PBKDF2 hash of the password is stored.")
    static final class CreateAccount extends Operation {
        @Parameters(index = "0", paramLabel = "USER", description = "1 to 32 of a-z 0-9 _ . -")
        String user;

        @Option(names = {"-p", "--password"}, arity = "0..1", interactive = true, paramLabel = "PASSWORD",
            description = "The password (at least 6 characters); prompted for (or read from stdin) if omitted.")
        char[] password;

        @Override
        void run(ChatServer server) throws ChatException {
            server.createAccount(user, password(password));
            System.out.println("created account " + user);
        }
    }

    @Command(name = "login", mixinStandardHelpOptions = true,
        description = "Check the password and print a session token for send and read.")
    static final class Login extends Operation {
        @Parameters(index = "0", paramLabel = "USER")
        String user;

        @Option(names = {"-p", "--password"}, arity = "0..1", interactive = true, paramLabel = "PASSWORD",
            description = "The password; prompted for (or read from stdin) if omitted.")
        char[] password;

        @Override
        void run(ChatServer server) throws ChatException {
            System.out.println(server.login(user, password(password)));
        }
    }

    @Command(name = "send", mixinStandardHelpOptions = true, description = "Send a message to a user.")
    static final class Send extends Operation {
        @CommandLine.Mixin
        SessionOption session;

        @Option(names = {"-t", "--to"}, required = true, paramLabel = "USER")
        String to;

        @Parameters(paramLabel = "TEXT", arity = "1..*", description = "The message (words are joined by spaces).")
        List<String> words;

        @Override
        void run(ChatServer server) throws ChatException {
            String id = server.send(session.session, to, String.join(" ", words));
            System.out.println("sent message " + id + " to " + to);
        }
    }

    @Command(name = "read", mixinStandardHelpOptions = true, description = "Print your inbox, oldest first.")
    static final class Read extends Operation {
        private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .withZone(ZoneId.systemDefault());

        @CommandLine.Mixin
        SessionOption session;

        @Override
        void run(ChatServer server) throws ChatException {
            List<ChatState.Message> inbox = server.read(session.session);
            for (ChatState.Message message : inbox) {
                System.out.println(TIME.format(message.at()) + "  " + message.from() + ": " + message.text());
            }
            System.out.println(inbox.size() + " message(s)");
        }
    }

    @Command(name = "list-users", mixinStandardHelpOptions = true, description = "Print every account name.")
    static final class ListUsers extends Operation {
        @Override
        void run(ChatServer server) {
            server.users().forEach(System.out::println);
        }
    }
}
