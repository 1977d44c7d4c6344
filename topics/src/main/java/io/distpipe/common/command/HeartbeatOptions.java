package io.distpipe.common.command;

import java.time.Duration;
import java.util.Locale;

import io.distpipe.common.HeartbeatSender;
import io.distpipe.common.KafkaClients;
import io.distpipe.topics.serde.AvroSerdes;
import org.apache.kafka.clients.producer.KafkaProducer;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The heartbeat every long-running process sends to the membership topic. */
public final class HeartbeatOptions {

    @Option(names = "--heartbeat-interval", paramLabel = "DURATION", defaultValue = "1s",
        converter = DurationConverter.class,
        description = "How often to send a heartbeat (500ms, 1s, 2m; default ${DEFAULT-VALUE}).")
    public Duration interval;

    /** Starts a sender for {@code memberId}; closing it sends a last, leaving heartbeat. */
    public HeartbeatSender start(String memberId, String role, String bootstrapServers, AvroSerdes serdes) {
        HeartbeatSender sender = new HeartbeatSender(memberId, role, interval, new KafkaProducer<>(
            KafkaClients.producer(bootstrapServers, memberId + "-heartbeats")), serdes);
        sender.start();
        return sender;
    }

    /** Reads 500ms, 1s, 2m, 1h or an ISO-8601 duration (PT1S). */
    public static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            String v = value.strip().toLowerCase(Locale.ROOT);
            try {
                if (v.startsWith("pt")) {
                    return Duration.parse(v.toUpperCase(Locale.ROOT));
                }
                if (v.endsWith("ms")) {
                    return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
                }
                long n = Long.parseLong(v.substring(0, v.length() - 1));
                return switch (v.charAt(v.length() - 1)) {
                    case 's' -> Duration.ofSeconds(n);
                    case 'm' -> Duration.ofMinutes(n);
                    case 'h' -> Duration.ofHours(n);
                    default -> throw new CommandLine.TypeConversionException("not a duration: " + value);
                };
            } catch (RuntimeException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a duration such as 500ms, "
                    + "1s or 2m");
            }
        }
    }
}
