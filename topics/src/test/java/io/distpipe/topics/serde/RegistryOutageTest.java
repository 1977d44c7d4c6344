package io.distpipe.topics.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.distpipe.primes.TaskMessage;
import io.distpipe.topics.Samples;
import io.distpipe.topics.Topics;
import io.distpipe.topics.registry.InMemorySchemaRegistry;
import io.distpipe.topics.registry.SchemaRegistryServer;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/**
 * A registry that stops answering is a transient failure the caller can see and retry: an exception, never an
 * {@link Error} that kills the thread (the serde's cache retry path once needed a class of the registry SDK the build
 * leaves out, so every process died on the first registry hiccup).
 */
class RegistryOutageTest {

    @Test
    void shouldFailWithAnExceptionNamingTheRegistryWhenItStopsAnswering() throws Exception {
        TaskMessage message = (TaskMessage) Samples.sampleOf(TaskMessage.class);
        byte[] bytes;
        String url;
        try (SchemaRegistryServer server = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0)) {
            url = server.url();
            bytes = AvroSerdes.connect(url).valueSerde(Topics.PRIMES_TASKS).serializer()
                .serialize(Topics.PRIMES_TASKS.name(), message);
        }

        // A process that has not read this schema yet, while the registry is down.
        Throwable thrown = catchThrowable(() -> AvroSerdes.connect(url).valueSerde(Topics.PRIMES_TASKS).deserializer()
            .deserialize(Topics.PRIMES_TASKS.name(), bytes));

        // Transient, so not the SerializationException that consumer loops treat as poison and skip.
        assertThat(thrown).isInstanceOf(RegistryUnavailableException.class)
            .isNotInstanceOf(SerializationException.class)
            .hasMessageContaining("Schema registry at " + url.replaceFirst("/$", "") + " is unreachable")
            .hasMessageEndingWith("cannot read a record on topic primes.tasks");
        assertThat(RegistryUnavailableException.isCauseOf(new RuntimeException(thrown))).isTrue();
    }

    @Test
    void shouldFailToWriteWithTheSameTransientExceptionWhenTheRegistryIsDown() throws Exception {
        String url;
        try (SchemaRegistryServer server = SchemaRegistryServer.start(new InMemorySchemaRegistry(), 0)) {
            url = server.url();
        }
        TaskMessage message = (TaskMessage) Samples.sampleOf(TaskMessage.class);

        Throwable thrown = catchThrowable(() -> AvroSerdes.connect(url).valueSerde(Topics.PRIMES_TASKS).serializer()
            .serialize(Topics.PRIMES_TASKS.name(), message));

        assertThat(thrown).isInstanceOf(RegistryUnavailableException.class)
            .hasMessageEndingWith("cannot write a record to topic primes.tasks");
    }

    @Test
    void shouldTreatARegistryThatRefusesTheLoginAsAnOutageNotAsPoison() throws Exception {
        TaskMessage message = (TaskMessage) Samples.sampleOf(TaskMessage.class);
        InMemorySchemaRegistry schemas = new InMemorySchemaRegistry();
        byte[] bytes;
        try (SchemaRegistryServer open = SchemaRegistryServer.start(schemas, 0)) {
            bytes = AvroSerdes.connect(open.url()).valueSerde(Topics.PRIMES_TASKS).serializer()
                .serialize(Topics.PRIMES_TASKS.name(), message);
        }
        // The same schemas behind a registry that asks for a user this process does not give.
        try (SchemaRegistryServer guarded = SchemaRegistryServer.start(schemas, 0, null, "reader:pw")) {
            Throwable thrown = catchThrowable(() -> AvroSerdes.connect(guarded.url()).valueSerde(Topics.PRIMES_TASKS)
                .deserializer().deserialize(Topics.PRIMES_TASKS.name(), bytes));

            // A record that cannot be read for want of a login is not poison: dead-lettering it would lose it.
            assertThat(thrown).isInstanceOf(RegistryUnavailableException.class)
                .isNotInstanceOf(SerializationException.class).hasMessageContaining("refused the request (HTTP 401");
        }
    }
}
