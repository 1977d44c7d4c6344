package io.distpipe.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import io.distpipe.cluster.BrokerSettings;
import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import io.distpipe.testkit.Tools;
import io.distpipe.topics.Topics;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine.ParseResult;

/**
 * docker-compose.yml describes the whole system and fits the app: no Docker engine runs here, so this test reads the
 * file (anchors and merge keys resolved) and checks the brokers against {@link BrokerSettings}, parses every distpipe
 * command with the real CLI, and follows every reference (depends_on, listeners, ports, mounts).
 */
class ComposeFileTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final List<String> BROKERS = List.of("kafka-1", "kafka-2", "kafka-3");
    private static final List<String> REPLICAS = List.of("replica-s1", "replica-s2", "replica-s3");
    private static final Set<String> LONG_RUNNING = Set.of("membership", "dedup", "coordinator", "worker",
        "replica-manager", "replica-s1", "replica-s2", "replica-s3");
    /** Compose's own interpolation: ${VAR:-default} (not $${...}, which is an escaped $). */
    private static final Pattern VARIABLE = Pattern.compile("(?<!\\$)\\$\\{(\\w+):-([^}]*)}");
    private static final Pattern LISTENER = Pattern.compile("([A-Z_]+)://([^:,]*):(\\d+)");

    private static Map<String, Map<String, Object>> services;
    /** Every distpipe command in the file, parsed by the CLI, by service. */
    private static final Map<String, ParseResult> COMMANDS = new LinkedHashMap<>();

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void read() throws Exception {
        try (Reader reader = Files.newBufferedReader(ROOT.resolve("docker-compose.yml"))) {
            Map<String, Object> compose = new Yaml().load(reader);
            services = (Map<String, Map<String, Object>>) compose.get("services");
        }
        COMMANDS.putAll(parseCommands(Map.of()));
    }

    /** Every distpipe command of the file with the host environment {@code env}, parsed by the CLI, by service. */
    private static Map<String, ParseResult> parseCommands(Map<String, String> env) {
        Map<String, ParseResult> commands = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, Object>> s : services.entrySet()) {
            List<String> args = distpipeArgs(s.getValue());
            if (args != null) {
                String[] resolved = args.stream().map(a -> interpolate(a, env)).toArray(String[]::new);
                commands.put(s.getKey(), Cli.commandLine().parseArgs(resolved));
            }
        }
        return commands;
    }

    private static String interpolate(String arg, Map<String, String> env) {
        return VARIABLE.matcher(arg).replaceAll(m -> Matcher.quoteReplacement(
            env.getOrDefault(m.group(1), m.group(2))));
    }

    /** The distpipe arguments of a service built from our Dockerfile (entrypoint distpipe, or sh -c "exec distpipe"). */
    @SuppressWarnings("unchecked")
    private static List<String> distpipeArgs(Map<String, Object> service) {
        if (!".".equals(service.get("build"))) {
            return null;
        }
        List<String> command = (List<String>) service.get("command");
        Object entrypoint = service.get("entrypoint");
        if (entrypoint == null) {
            return command;
        }
        assertThat(entrypoint).isEqualTo(List.of("/bin/sh", "-c"));
        assertThat(command).hasSize(1);
        String line = command.get(0);
        assertThat(line).startsWith("exec distpipe ");
        // Compose turns $$ into $; the shell expands the hostname. Quotes are removed as the shell would.
        String expanded = line.replace("$${HOSTNAME}", "abc123").replace("\"", "");
        return List.of(expanded.substring("exec distpipe ".length()).trim().split("\\s+"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> env(String service) {
        Map<String, Object> env = (Map<String, Object>) services.get(service).get("environment");
        Map<String, String> result = new HashMap<>();
        if (env != null) {
            env.forEach((k, v) -> result.put(k, String.valueOf(v)));
        }
        return result;
    }

    private static Map<String, String> listeners(String spec) {
        Map<String, String> byName = new HashMap<>();
        Matcher m = LISTENER.matcher(spec);
        while (m.find()) {
            byName.put(m.group(1), m.group(2) + ":" + m.group(3));
        }
        return byName;
    }

    @SuppressWarnings("unchecked")
    private static List<String> list(String service, String key) {
        Object value = services.get(service).get(key);
        return value == null ? List.of() : (List<String>) value;
    }

    private static <T> T option(ParseResult command, String name) {
        ParseResult sub = command;
        while (sub.hasSubcommand()) {
            sub = sub.subcommand();
        }
        return sub.matchedOptionValue(name, null);
    }

    /** The value an option has after parsing, its default if the command does not set it. */
    private static <T> T value(ParseResult command, String name) {
        ParseResult sub = command;
        while (sub.hasSubcommand()) {
            sub = sub.subcommand();
        }
        return sub.commandSpec().findOption(name).getValue();
    }

    private static String subcommand(ParseResult command) {
        List<String> names = new ArrayList<>();
        ParseResult sub = command;
        while (sub.hasSubcommand()) {
            sub = sub.subcommand();
            names.add(sub.commandSpec().name());
        }
        return String.join(" ", names);
    }

    @Test
    void shouldBeAcceptedByARealComposeImplementation() throws Exception {
        // Debian's docker-compose parses, interpolates and validates the file against the compose schema with no
        // engine; what this class checks by hand comes on top of that.
        Tools.require(Tools.runs("docker-compose", "version"), "docker-compose is not installed (apt-get install "
            + "docker-compose): the file is not validated by a compose implementation");
        Process config = new ProcessBuilder("docker-compose", "--file", "docker-compose.yml", "config", "--services")
            .directory(ROOT.toFile()).redirectErrorStream(true).start();
        String output = new String(config.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(config.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(config.exitValue()).as(output).isZero();
        assertThat(output.lines().filter(l -> !l.isBlank()).sorted().toList())
            .isEqualTo(services.keySet().stream().sorted().toList());
    }

    @Test
    void shouldRunThreeCombinedKraftBrokersOfOneQuorum() {
        Set<String> nodeIds = new HashSet<>();
        Set<String> voters = new HashSet<>();
        for (String broker : BROKERS) {
            Map<String, String> env = env(broker);
            assertThat(services.get(broker).get("image")).isEqualTo("apache/kafka:4.3.1");
            assertThat(env.get("KAFKA_PROCESS_ROLES")).isEqualTo("broker,controller");
            nodeIds.add(env.get("KAFKA_NODE_ID"));
            voters.add(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS"));
            assertThat(env.get("CLUSTER_ID")).isEqualTo(env("kafka-1").get("CLUSTER_ID")).isNotBlank();

            Map<String, String> listeners = listeners(env.get("KAFKA_LISTENERS"));
            Map<String, String> advertised = listeners(env.get("KAFKA_ADVERTISED_LISTENERS"));
            Set<String> protocolMap = Set.of(env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP").split(",")).stream()
                .map(p -> p.split(":")[0]).collect(Collectors.toSet());
            assertThat(protocolMap).containsAll(listeners.keySet());
            String controller = env.get("KAFKA_CONTROLLER_LISTENER_NAMES");
            String interBroker = env.get("KAFKA_INTER_BROKER_LISTENER_NAME");
            assertThat(listeners).containsKeys(controller, interBroker);
            assertThat(advertised).doesNotContainKey(controller);
            assertThat(advertised.get(interBroker)).as("other containers reach %s by its service name", broker)
                .isEqualTo(broker + ":" + listeners.get(interBroker).split(":")[1]);
            assertThat(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS")).contains(env.get("KAFKA_NODE_ID") + "@" + broker
                + ":" + listeners.get(controller).split(":")[1]);
            for (Map.Entry<String, String> a : advertised.entrySet()) {
                if (a.getValue().startsWith("localhost:")) {
                    String port = a.getValue().split(":")[1];
                    assertThat(list(broker, "ports")).as("host listener of %s published", broker)
                        .contains(port + ":" + listeners.get(a.getKey()).split(":")[1]);
                }
            }
            assertThat(services.get(broker)).containsKey("healthcheck");
        }
        assertThat(nodeIds).containsExactlyInAnyOrder("1", "2", "3");
        assertThat(voters).as("one quorum").hasSize(1);
        assertThat(voters.iterator().next().split(",")).hasSize(3);
    }

    @Test
    void shouldGiveEveryBrokerTheSettingsTheAppNeeds() {
        for (String broker : BROKERS) {
            Map<String, String> env = env(broker);
            BrokerSettings.forCluster(BROKERS.size()).forEach((key, value) ->
                assertThat(env.get("KAFKA_" + key.toUpperCase().replace('.', '_'))).as("%s: %s", broker, key)
                    .isEqualTo(value));
            assertThat(env.get("KAFKA_DEFAULT_REPLICATION_FACTOR")).isEqualTo("3");
            assertThat(env.get("KAFKA_MIN_INSYNC_REPLICAS")).isEqualTo("2");
            assertThat(Integer.parseInt(env.get("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS")))
                .as("workers' session timeout is accepted").isLessThanOrEqualTo(
                    KafkaClients.SESSION_TIMEOUT_MS_DEFAULT);
        }
    }

    @Test
    void shouldRunARegistryWithTheConfluentApiAndBackwardCompatibility() {
        assertThat((String) services.get("registry").get("image")).startsWith("apicurio/apicurio-registry:3.");
        Map<String, String> env = env("registry");
        assertThat(env.get("APICURIO_STORAGE_KIND")).isEqualTo("kafkasql");
        assertThat(env.get("APICURIO_KAFKASQL_BOOTSTRAP_SERVERS")).isEqualTo(
            option(COMMANDS.get("topics"), "--bootstrap-servers"));
        assertThat(List.of(env.get("APICURIO_KAFKASQL_TOPIC"), env.get("APICURIO_KAFKASQL_SNAPSHOTS_TOPIC"),
            env.get("APICURIO_EVENTS_KAFKA_TOPIC"))).as("its storage is on catalog topics the topics service creates")
            .containsExactly(Topics.REGISTRY_JOURNAL.name(), Topics.REGISTRY_SNAPSHOTS.name(),
                Topics.REGISTRY_EVENTS.name());
        assertThat(services.get("registry")).containsKey("healthcheck");
        assertThat(list("registry", "ports")).contains("8081:8080");
        ParseResult config = COMMANDS.get("registry-config");
        assertThat(subcommand(config)).isEqualTo("registry");
        assertThat((String) option(config, "--await")).isEqualTo("http://registry:8080/apis/ccompat/v7");
        assertThat((String) option(config, "--compatibility")).isEqualTo("BACKWARD");
    }

    @Test
    void shouldRunEveryProcessOfTheSystemWithCommandsTheCliAccepts() {
        Map<String, String> bySubcommand = new HashMap<>();
        COMMANDS.forEach((service, command) -> bySubcommand.put(subcommand(command), service));
        assertThat(bySubcommand).containsKeys("registry", "topics create", "membership", "dedup", "coordinator",
            "worker", "replica-manager", "replica");

        String bootstrap = BROKERS.stream().map(b -> b + ":" + listeners(env(b).get("KAFKA_LISTENERS"))
            .get(env(b).get("KAFKA_INTER_BROKER_LISTENER_NAME")).split(":")[1]).collect(Collectors.joining(","));
        for (Map.Entry<String, ParseResult> c : COMMANDS.entrySet()) {
            if (c.getKey().equals("registry-config")) {
                continue;
            }
            assertThat((String) option(c.getValue(), "--bootstrap-servers")).as(c.getKey()).isEqualTo(bootstrap);
            if (!c.getKey().equals("topics")) {
                assertThat((String) option(c.getValue(), "--registry-url")).as(c.getKey())
                    .isEqualTo("http://registry:8080/apis/ccompat/v7");
            }
        }
        assertThat((Boolean) option(COMMANDS.get("topics"), "--no-schemas")).as("topics before the registry").isTrue();
        assertThat(subcommand(COMMANDS.get("schemas"))).isEqualTo("topics create");
        assertThat((Boolean) option(COMMANDS.get("schemas"), "--no-schemas")).isNull();
        assertThat((Integer) option(COMMANDS.get("schemas"), "--replication")).isEqualTo(3);
        assertThat((Integer) option(COMMANDS.get("topics"), "--replication")).isEqualTo(3);
        assertThat((Integer) option(COMMANDS.get("membership"), "--replication")).isEqualTo(3);
        assertThat((Integer) option(COMMANDS.get("dedup"), "--replication")).isEqualTo(3);
        assertThat((String) option(COMMANDS.get("worker"), "--id")).isEqualTo("worker-abc123");
    }

    @Test
    @SuppressWarnings("unchecked")
    void shouldRunAReplicaManagerAndThreeReplicasInOneModeThatOneVariablePicks() {
        ParseResult rm = COMMANDS.get("replica-manager");
        assertThat(subcommand(rm)).isEqualTo("replica-manager");
        assertThat((Integer) option(rm, "--replication")).isEqualTo(3);
        assertThat(list("replica-manager", "volumes")).as("its Streams state survives a restart")
            .contains("replica-manager-state:" + ((Path) option(rm, "--state-dir")).getParent());
        assertThat((Map<String, Map<String, String>>) services.get("replica-manager").get("depends_on"))
            .as("the membership processor is the RM's failure detector")
            .containsEntry("membership", Map.of("condition", "service_healthy"));
        Set<String> ids = new HashSet<>();
        for (String replica : REPLICAS) {
            ParseResult command = COMMANDS.get(replica);
            assertThat(subcommand(command)).as(replica).isEqualTo("replica");
            ids.add(option(command, "--id"));
            assertThat(replica).isEqualTo("replica-" + ((String) option(command, "--id")).toLowerCase());
            assertThat((Object) option(command, "--mode")).as("%s: the RM's mode", replica)
                .isEqualTo(option(rm, "--mode"));
            Map<String, Map<String, String>> dependsOn = (Map<String, Map<String, String>>) services.get(replica)
                .get("depends_on");
            assertThat(dependsOn).as(replica).containsEntry("replica-manager", Map.of("condition", "service_healthy"))
                .containsEntry("membership", Map.of("condition", "service_healthy"));
            assertThat(services.get(replica)).as("%s keeps no local state", replica).doesNotContainKey("volumes");
            Duration heartbeat = value(command, "--heartbeat-interval");
            Duration suspect = value(COMMANDS.get("membership"), "--suspect-after");
            assertThat(heartbeat).as("%s is heard before the membership processor suspects it", replica)
                .isLessThan(suspect.dividedBy(2));
        }
        assertThat(ids).containsExactlyInAnyOrder("S1", "S2", "S3");
        assertThat((Object) option(rm, "--mode")).as("passive unless DISTPIPE_REPLICA_MODE says otherwise")
            .isEqualTo(Mode.PASSIVE);
        Map<String, ParseResult> active = parseCommands(Map.of("DISTPIPE_REPLICA_MODE", "active"));
        for (String service : List.of("replica-manager", "replica-s1", "replica-s2", "replica-s3")) {
            assertThat((Object) option(active.get(service), "--mode")).as(service).isEqualTo(Mode.ACTIVE);
        }
    }

    @Test
    void shouldStartInOrderAndReportHealth() {
        for (Map.Entry<String, Map<String, Object>> s : services.entrySet()) {
            @SuppressWarnings("unchecked")
            Map<String, Map<String, String>> dependsOn = (Map<String, Map<String, String>>) s.getValue()
                .getOrDefault("depends_on", Map.of());
            for (Map.Entry<String, Map<String, String>> d : dependsOn.entrySet()) {
                assertThat(services).as("%s depends on %s", s.getKey(), d.getKey()).containsKey(d.getKey());
                Map<String, Object> target = services.get(d.getKey());
                String condition = d.getValue().get("condition");
                if (condition.equals("service_healthy")) {
                    assertThat(target).as(d.getKey()).containsKey("healthcheck");
                    assertThat(target.get("healthcheck").toString()).doesNotContain("disable=true");
                } else {
                    assertThat(condition).isEqualTo("service_completed_successfully");
                    assertThat(target.get("restart")).as("%s runs once", d.getKey()).isEqualTo("no");
                }
            }
        }
        for (String service : LONG_RUNNING) {
            Map<String, Object> s = services.get(service);
            String readyFile = env(service).get("DISTPIPE_READY_FILE");
            assertThat(s.get("healthcheck").toString()).as(service).contains("test -f " + readyFile);
            assertThat(list(service, "tmpfs")).as("a restarted %s is not ready before it is", service)
                .contains(Path.of(readyFile).getParent().toString());
            assertThat(s.get("restart")).isEqualTo("unless-stopped");
        }
        assertThat(services.get("worker")).as("--scale needs no fixed name or host port")
            .doesNotContainKeys("container_name", "ports");
    }

    @Test
    void shouldMountInputAndOutputFromTheHost() {
        ParseResult coordinator = COMMANDS.get("coordinator");
        List<String> mounts = list("coordinator", "volumes");
        Path input = option(coordinator, "--input");
        Path output = option(coordinator, "--output");
        assertThat(mounts).contains("./data/input:" + input, "./data/output:" + output.getParent());
        Set<String> hostPorts = new HashSet<>();
        for (String service : services.keySet()) {
            for (String port : list(service, "ports")) {
                assertThat(hostPorts.add(port.split(":")[0])).as("host port %s used once", port).isTrue();
            }
        }
    }

    @Test
    void shouldBuildTheImageInTwoStagesWithTheCliAsEntrypoint() throws Exception {
        String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
        List<String> stages = dockerfile.lines().filter(l -> l.startsWith("FROM ")).toList();
        assertThat(stages).hasSize(2);
        assertThat(stages.get(0)).contains(" AS build");
        assertThat(stages.get(1)).isEqualTo("FROM eclipse-temurin:17-jre");
        assertThat(dockerfile).contains("-pl cli -am package", "COPY --from=build /app/lib /app/lib",
            "COPY docker/distpipe /usr/local/bin/distpipe", "ENTRYPOINT [\"distpipe\"]");
        String launcher = Files.readString(ROOT.resolve("docker/distpipe"));
        assertThat(launcher).contains("-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.distpipe", "io.distpipe.cli.Main");
        assertThat(Files.readString(ROOT.resolve(".dockerignore"))).contains("**/target/", "**/node_modules/");
    }

    @Test
    void shouldBuildTheImageWithExactlyTheMavenCommandOfBinDistpipe() throws Exception {
        // bin/distpipe's build is the one .ci/run proves on a clean clone; the image must not differ from it (it
        // once used -Dmaven.test.skip=true, which fails on a clean clone: the topics test-jar is never built).
        Pattern maven = Pattern.compile("\\./mvnw ([^>\\\\)]*?package)");
        Matcher script = maven.matcher(Files.readString(ROOT.resolve("bin/distpipe")));
        Matcher image = maven.matcher(Files.readString(ROOT.resolve("Dockerfile")));
        assertThat(script.find()).as("bin/distpipe runs ./mvnw ... package").isTrue();
        assertThat(image.find()).as("the Dockerfile runs ./mvnw ... package").isTrue();
        assertThat(image.group(1)).isEqualTo(script.group(1)).doesNotContain("maven.test.skip");
    }
}
