package io.distpipe.testkit;

import java.util.List;

import io.distpipe.common.ClientProperties;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Puts the process's {@link ClientProperties} back to the environment's after each test, so that a test's logins do
 * not leak into the next one ({@code @ExtendWith(ResetClientProperties.class)}).
 */
public final class ResetClientProperties implements AfterEachCallback {

    @Override
    public void afterEach(ExtensionContext context) {
        ClientProperties.use(null, List.of());
    }
}
