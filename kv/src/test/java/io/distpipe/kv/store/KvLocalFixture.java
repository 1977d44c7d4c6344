package io.distpipe.kv.store;

import io.distpipe.cluster.EmbeddedKafka;
import io.distpipe.topics.serde.AvroSerdes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInfo;

/** An embedded broker with a coordinator and three transactional workers in this JVM, per test class. */
abstract class KvLocalFixture {

    static EmbeddedKafka kafka;
    static KvLocal kv;

    @BeforeAll
    static void start(TestInfo test) throws Exception {
        kafka = EmbeddedKafka.startTemporary();
        String registry = "mem://" + test.getTestClass().map(Class::getSimpleName).orElse("kv-local");
        kv = KvLocal.start(kafka.bootstrapServers(), AvroSerdes.connect(registry), 3, true);
    }

    @AfterAll
    static void stop() {
        if (kv != null) {
            kv.close();
            kv = null;
        }
        if (kafka != null) {
            kafka.close();
            kafka = null;
        }
    }
}
