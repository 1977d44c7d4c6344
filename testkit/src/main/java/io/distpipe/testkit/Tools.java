package io.distpipe.testkit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Tests that need a program from outside Maven (shellcheck, kcat, node, docker-compose): on a developer's machine
 * without it they are skipped, saying what to install; where {@value #REQUIRE_ENV}=1 (CI, which installs them) a
 * missing tool fails the test, so CI never skips one silently.
 */
public final class Tools {

    public static final String REQUIRE_ENV = "DISTPIPE_REQUIRE_TOOLS";

    private Tools() {
    }

    /** Whether {@code command} runs and exits 0 within 30 s. */
    public static boolean runs(String... command) {
        try {
            Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Skips (or, under {@value #REQUIRE_ENV}=1, fails) the test unless {@code present}. */
    public static void require(boolean present, String whatToInstall) {
        if (present) {
            return;
        }
        if ("1".equals(System.getenv(REQUIRE_ENV))) {
            fail(whatToInstall + " (" + REQUIRE_ENV + "=1: tools are required here)");
        }
        assumeTrue(false, whatToInstall);
    }
}
