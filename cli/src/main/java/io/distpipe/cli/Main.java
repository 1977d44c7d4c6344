package io.distpipe.cli;

import io.distpipe.common.command.Cli;

/** The {@code distpipe} command of the installed product: {@link Cli} with every system's commands and the tools. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        Cli.main(args);
    }

    /** Runs a command line and returns the exit code (0 ok, 1 failure, 2 usage error). */
    public static int run(String... args) {
        return Cli.run(args);
    }
}
