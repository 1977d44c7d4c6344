package io.distpipe.common.command;

/** Names this process's log file before logback starts: {@code logs/<process-id>.log}. */
public final class Logs {

    public static final String PROCESS_PROPERTY = "distpipe.process";
    public static final String DIR_PROPERTY = "distpipe.log.dir";

    private Logs() {
    }

    public static void init(String processId) {
        if (System.getProperty(PROCESS_PROPERTY) == null) {
            System.setProperty(PROCESS_PROPERTY, processId.replaceAll("[^A-Za-z0-9._-]", "_"));
        }
        if (System.getProperty(DIR_PROPERTY) == null) {
            String env = System.getenv("DISTPIPE_LOG_DIR");
            System.setProperty(DIR_PROPERTY, env == null || env.isBlank() ? "logs" : env);
        }
    }
}
