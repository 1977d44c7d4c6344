package io.distpipe.cluster;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.distpipe.common.ClientProperties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaFuture;

/** Short-timeout Admin clients and blocking calls for the readiness checks of this module's clusters. */
public final class AdminCalls {

    /** Bound on one Admin call; readiness loops retry calls that hit it. */
    public static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

    private AdminCalls() {
    }

    public static Admin create(String bootstrapServers, String clientId) {
        return create(bootstrapServers, clientId, Map.of());
    }

    /**
     * An Admin client with the process's {@link ClientProperties}, then {@code clientProperties} (a node's own
     * credentials, say) over them.
     */
    public static Admin create(String bootstrapServers, String clientId, Map<String, String> clientProperties) {
        Properties props = new Properties();
        props.putAll(ClientProperties.kafka());
        props.putAll(clientProperties);
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) CALL_TIMEOUT.toMillis());
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) CALL_TIMEOUT.toMillis());
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
        return Admin.create(props);
    }

    /**
     * Waits (bounded) for an Admin result.
     *
     * @throws IllegalStateException carrying the Kafka error as its cause, or naming the timeout
     */
    public static <T> T get(KafkaFuture<T> future) {
        try {
            return future.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for an Admin call.", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("The cluster did not answer within " + CALL_TIMEOUT.toMillis() + " ms.",
                    e);
        }
    }
}
