package io.distpipe.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

class PrimesAuditTest {

    private static final Set<BigInteger> PRIMES = Set.of(BigInteger.TWO, BigInteger.valueOf(3), BigInteger.valueOf(5));

    @Test
    void shouldFindNothingWhenEveryTaskAndPrimeIsThereOnce() {
        PrimesAudit audit = new PrimesAudit("job", Set.of("job/a#0", "job/a#1"), Map.of("job/a#0", 1, "job/a#1", 1),
            3, Map.of(BigInteger.TWO, 1, BigInteger.valueOf(3), 1, BigInteger.valueOf(5), 1),
            Map.of("primes.tasks.dlq", 0L), Map.of("worker-1", 2));

        assertThat(audit.violations(PRIMES)).isEmpty();
        assertThat(audit.hiddenCompletions()).isEqualTo(1);
    }

    @Test
    void shouldNameEveryKindOfViolation() {
        PrimesAudit audit = new PrimesAudit("job", Set.of("job/a#0", "job/a#1"), Map.of("job/a#0", 2, "job/b#0", 1),
            3, Map.of(BigInteger.TWO, 2, BigInteger.valueOf(4), 1), Map.of("primes.found.dlq", 1L),
            Map.of("worker-1", 3));

        assertThat(audit.violations(PRIMES)).containsExactly(
            "1 task(s) completed more than once: job/a#0 ×2",
            "1 published task(s) never completed: job/a#1",
            "1 completion(s) of tasks never published: job/b#0",
            "1 prime(s) on primes.unique more than once: 2 ×2",
            "2 expected prime(s) missing from primes.unique: 3, 5",
            "1 number(s) on primes.unique that are not expected primes: 4",
            "1 record(s) on primes.found.dlq");
        assertThatThrownBy(() -> audit.assertExactlyOnce(PRIMES)).isInstanceOf(AssertionError.class)
            .hasMessageStartingWith("Job job on the topics is not exactly once:");
    }
}
