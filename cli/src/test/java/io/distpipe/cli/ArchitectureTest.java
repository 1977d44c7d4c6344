package io.distpipe.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import io.distpipe.chat.fixture.StartsABrokerDirectly;
import io.distpipe.kv.fixture.UsesAnotherSystem;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering, checked on the compiled code of every module (Kafka checks its own with import-control):
 * {@code topics} (schemas, catalog, serdes, shared runtime) at the bottom; the five systems above it, none using
 * another's code (primes is planned in producers and run in processors, one system); the cluster module (brokers)
 * and the test harness used by no system's main code, only found at run time (LocalKafka) or in tests; {@code cli}
 * on top, used by nobody. The last tests show that each rule fires on a class that breaks it.
 */
class ArchitectureTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final List<String> SYSTEMS = List.of("primes", "replicas", "kv", "mapreduce", "chat");
    private static final List<String> MODULES = List.of("topics", "cluster", "testkit", "producers", "processors",
        "replicas", "kv", "mapreduce", "chat", "cli");

    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.distpipe");
    }

    /** The systems' hand-written code and the generated records of their topics. */
    private static String system(String name) {
        return "io.distpipe." + name + "..";
    }

    static List<ArchRule> systemsRules() {
        List<ArchRule> rules = new ArrayList<>();
        for (String s : SYSTEMS) {
            String[] others = SYSTEMS.stream().filter(o -> !o.equals(s)).map(ArchitectureTest::system)
                .toArray(String[]::new);
            rules.add(noClasses().that().resideInAPackage(system(s)).should().dependOnClassesThat()
                .resideInAnyPackage(others).because("systems never use each other's code or records").allowEmptyShould(true));
        }
        return rules;
    }

    static ArchRule noBrokerHarnessOrCliBelowTheTop() {
        return noClasses().that().resideInAnyPackage(system("primes"), system("replicas"), system("kv"),
                system("mapreduce"), system("chat"), "io.distpipe.common..", "io.distpipe.topics..",
                "io.distpipe.membership..")
            .should().dependOnClassesThat().resideInAnyPackage("io.distpipe.cluster..", "io.distpipe.testkit..",
                "io.distpipe.cli..")
            .because("brokers come through LocalKafka at run time, the harness is for tests, and cli is the top");
    }

    static ArchRule foundationBelowTheSystems() {
        // topics' catalog names every system's generated record (packages io.distpipe.<system> themselves); the
        // systems' hand-written code lives in subpackages, which the foundation never uses.
        return noClasses().that().resideInAnyPackage("io.distpipe.common..", "io.distpipe.topics..",
                "io.distpipe.membership..", "io.distpipe.cluster..")
            .should().dependOnClassesThat().resideInAnyPackage(SYSTEMS.stream()
                .map(s -> "io.distpipe." + s + ".*..").toArray(String[]::new))
            .because("the shared runtime and the brokers sit below every system");
    }

    @Test
    void shouldKeepTheSystemsApart() {
        systemsRules().forEach(rule -> rule.check(main));
    }

    @Test
    void shouldKeepBrokersTheHarnessAndTheCliOutOfTheSystems() {
        noBrokerHarnessOrCliBelowTheTop().check(main);
    }

    @Test
    void shouldKeepTheFoundationBelowTheSystems() {
        foundationBelowTheSystems().check(main);
    }

    @Test
    void shouldFailOnASystemUsingAnother() {
        JavaClasses fixture = new ClassFileImporter().importClasses(UsesAnotherSystem.class);
        List<EvaluationResult> results = systemsRules().stream().map(r -> r.evaluate(fixture)).toList();
        assertThat(results).anyMatch(EvaluationResult::hasViolation);
        assertThat(results.stream().filter(EvaluationResult::hasViolation).findFirst().orElseThrow()
            .getFailureReport().toString()).contains("UsesAnotherSystem", "Corpus");
    }

    @Test
    void shouldFailOnASystemStartingABrokerFromTheClusterModule() {
        JavaClasses fixture = new ClassFileImporter().importClasses(StartsABrokerDirectly.class);
        EvaluationResult result = noBrokerHarnessOrCliBelowTheTop().evaluate(fixture);
        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().toString()).contains("StartsABrokerDirectly", "EmbeddedKafka");
    }

    @Test
    void shouldHaveNoPackageInTwoModules() throws IOException {
        Map<String, Set<String>> modulesByPackage = new HashMap<>();
        for (String module : MODULES) {
            Path classes = ROOT.resolve(module).resolve("target/classes");
            assertThat(classes).as(module + " is compiled").isDirectory();
            try (Stream<Path> files = Files.walk(classes)) {
                files.filter(f -> f.toString().endsWith(".class")).map(f -> classes.relativize(f.getParent()))
                    .map(p -> p.toString().replace('/', '.')).distinct()
                    .forEach(p -> modulesByPackage.computeIfAbsent(p, k -> new TreeSet<>()).add(module));
            }
        }
        assertThat(modulesByPackage).as("packages of generated and hand-written classes").isNotEmpty()
            .allSatisfy((pkg, modules) -> assertThat(modules).as(pkg).hasSize(1));
    }
}
