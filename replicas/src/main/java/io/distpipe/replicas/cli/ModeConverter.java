package io.distpipe.replicas.cli;

import io.distpipe.replicas.server.ReplicaManagerTopology.Mode;
import picocli.CommandLine;

/** Reads {@code active} or {@code passive}. */
final class ModeConverter implements CommandLine.ITypeConverter<Mode> {
    @Override
    public Mode convert(String value) {
        try {
            return Mode.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a mode: use active or passive");
        }
    }
}
