package io.distpipe.mapreduce.cli;

import java.util.List;
import java.util.Map;

import io.distpipe.common.command.SystemCommands;

/** The MapReduce engine's part of the command line: {@code distpipe mr ...}. */
public final class MrCommands implements SystemCommands {

    @Override
    public String section() {
        return "MapReduce";
    }

    @Override
    public int order() {
        return 40;
    }

    @Override
    public List<Object> commands() {
        return List.of(new MrCommand());
    }

    @Override
    public Map<String, Object> benches() {
        return Map.of("mr", new MrBench());
    }
}
