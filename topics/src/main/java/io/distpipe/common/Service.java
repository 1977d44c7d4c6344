package io.distpipe.common;

/**
 * The lifecycle every long-running distpipe component shares: NEW → STARTING → RUNNING → CLOSING → CLOSED, with
 * FAILED reachable from STARTING and RUNNING; one launcher can start and stop any of them.
 */
public interface Service extends AutoCloseable {

    /** The states of {@link Service}, with the transitions each may take. */
    enum State {
        NEW, STARTING, RUNNING, CLOSING, CLOSED, FAILED;

        public boolean canMoveTo(State next) {
            return switch (this) {
                case NEW -> next == STARTING || next == CLOSING;
                case STARTING -> next == RUNNING || next == CLOSING || next == FAILED;
                case RUNNING -> next == CLOSING || next == FAILED;
                case CLOSING -> next == CLOSED || next == FAILED;
                case FAILED -> next == CLOSING || next == CLOSED;
                case CLOSED -> false;
            };
        }
    }

    /** The member id this component uses in logs, heartbeats and transactional ids ({@code worker-2}). */
    String id();

    State state();

    void start() throws Exception;

    @Override
    void close();
}
