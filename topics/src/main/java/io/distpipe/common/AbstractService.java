package io.distpipe.common;

/**
 * What every {@link Service} writes the same way: its member id, and a {@link LifeCycle} that its start, run and
 * close move through. Subclasses make the transitions; {@link #state()} reads them.
 */
public abstract class AbstractService implements Service {

    private final String id;
    /** This component's lifecycle, named for logs and errors. */
    protected final LifeCycle life;

    /**
     * @param id   the member id ({@link #id()})
     * @param name how the lifecycle names this component in its messages ({@code kv worker W1})
     */
    protected AbstractService(String id, String name) {
        this.id = id;
        this.life = new LifeCycle(name);
    }

    @Override
    public final String id() {
        return id;
    }

    @Override
    public final State state() {
        return life.state();
    }

    /**
     * The close of a component whose run loop owns its clients: one that never started closes them now; a running one
     * is woken ({@code wakeup}, e.g. its consumer's) and its loop closes them on its way out. Only the first call acts.
     */
    protected final void closeOrWake(Runnable closeClients, Runnable wakeup) {
        State before = life.state();
        if (life.beginClose()) {
            if (before == State.NEW) {
                closeClients.run();
            } else {
                wakeup.run();
            }
        }
    }
}
