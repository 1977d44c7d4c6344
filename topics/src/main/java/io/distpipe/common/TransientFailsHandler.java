package io.distpipe.common;

import io.distpipe.topics.serde.RegistryUnavailableException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The deserialization policy of every distpipe Streams application: a record that cannot be read because the schema
 * registry does not answer fails the stream thread, so it is read again once the registry is back (the thread is
 * replaced, bounded, by {@link StreamsService}) instead of being skipped with its offset committed; bytes that no
 * schema reads are logged and skipped, as by {@link LogAndContinueExceptionHandler}.
 */
public final class TransientFailsHandler extends LogAndContinueExceptionHandler {

    private static final Logger LOG = LoggerFactory.getLogger(TransientFailsHandler.class);

    @Override
    public Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                Exception exception) {
        if (RegistryUnavailableException.isCauseOf(exception)) {
            LOG.warn("Could not read {}-{}@{} because the schema registry does not answer; the record is read again "
                + "once it does: {}", record.topic(), record.partition(), record.offset(), exception.getMessage());
            return Response.fail();
        }
        return super.handleError(context, record, exception);
    }
}
