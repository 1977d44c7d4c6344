package io.distpipe.common;

import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The checked state machine behind a {@link Service}: an illegal transition is a bug and throws. */
public final class LifeCycle {

    private static final Logger LOG = LoggerFactory.getLogger(LifeCycle.class);

    private final String name;
    private final AtomicReference<Service.State> current = new AtomicReference<>(Service.State.NEW);

    public LifeCycle(String name) {
        this.name = name;
    }

    public Service.State state() {
        return current.get();
    }

    /** Moves to {@code next}, or throws {@link IllegalStateException} if the current state may not. */
    public void transition(Service.State next) {
        Service.State from = current.getAndUpdate(s -> s.canMoveTo(next) ? next : s);
        if (!from.canMoveTo(next)) {
            throw new IllegalStateException(name + ": cannot move from " + from + " to " + next);
        }
        LOG.debug("{}: {} -> {}", name, from, next);
    }

    /** Moves to {@code next} if the current state is {@code expected}; false otherwise. */
    public boolean compareAndTransition(Service.State expected, Service.State next) {
        if (!expected.canMoveTo(next)) {
            throw new IllegalStateException(name + ": " + expected + " never moves to " + next);
        }
        return current.compareAndSet(expected, next);
    }

    /** Starts closing unless already closing or closed; returns whether the caller should do the closing. */
    public boolean beginClose() {
        while (true) {
            Service.State s = current.get();
            if (s == Service.State.CLOSING || s == Service.State.CLOSED) {
                return false;
            }
            if (current.compareAndSet(s, Service.State.CLOSING)) {
                return true;
            }
        }
    }
}
