package io.distpipe.common.command;

import java.util.List;
import java.util.Map;

/**
 * One system's part of the {@code distpipe} command line, found with {@link java.util.ServiceLoader} (each module
 * lists its implementation in {@code META-INF/services}): its command tree, the older command lines kept as hidden
 * aliases, and its benchmark under {@code distpipe bench}.
 */
public interface SystemCommands {

    /** The help section's title, such as "Primes". */
    String section();

    /** Where the section stands in the help (lower first). */
    int order();

    /** The system's top-level commands (picocli command objects), shown in its section. */
    List<Object> commands();

    /** Command lines documented before the commands were grouped by system: name to a new command object. */
    default Map<String, Object> aliases() {
        return Map.of();
    }

    /** {@code distpipe bench NAME} (the older spelling of {@code distpipe <system> bench}): name to a command. */
    default Map<String, Object> benches() {
        return Map.of();
    }
}
