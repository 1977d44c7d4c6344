package io.distpipe.mapreduce.engine;

import java.time.Duration;

import io.distpipe.common.ChildJvm;
import io.distpipe.mapreduce.MrJobState;
import io.distpipe.mapreduce.MrJobStatus;
import io.distpipe.topics.serde.AvroSerdes;

/**
 * One worker as its own JVM, for tests that kill workers with SIGKILL:
 * {@code MrWorkerMain ID BOOTSTRAP REGISTRY_URL [EXIT_AFTER_JOB]}. Prints {@code READY ID} once it has joined, and
 * with a job id exits (0) once that job is FINALIZING or finished.
 */
public final class MrWorkerMain {

    private MrWorkerMain() {
    }

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: MrWorkerMain ID BOOTSTRAP REGISTRY_URL [EXIT_AFTER_JOB]");
            System.exit(2);
        }
        AvroSerdes serdes = AvroSerdes.connect(args[2]);
        MrWorker worker = MrWorker.create(MrWorker.Config.defaults(args[0], args[1]), serdes);
        JobWatcher watcher = args.length > 3 ? new JobWatcher(args[1], args[0] + "-jobs", serdes) : null;
        if (watcher != null) {
            worker.stopWhen(() -> {
                watcher.poll(Duration.ZERO);
                return watcher.latest(args[3]).map(MrWorkerMain::pastMapReduce).orElse(false);
            });
        }
        Runtime.getRuntime().addShutdownHook(new Thread(worker::close));
        worker.start();
        ChildJvm.announceReady(args[0]);
        worker.run();
        if (watcher != null) {
            watcher.close();
        }
        System.out.println("EXIT " + args[0] + " " + System.currentTimeMillis());
        System.out.flush();
    }

    /** Whether no task of the job can come any more: it is FINALIZING or finished. */
    public static boolean pastMapReduce(MrJobStatus s) {
        return s.getState() == MrJobState.FINALIZING || JobStateMachine.finished(s);
    }
}
