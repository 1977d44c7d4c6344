package io.distpipe.kv.cli;

import java.util.List;
import java.util.Map;

import io.distpipe.common.command.SystemCommands;

/** The key-value store's part of the command line: {@code distpipe kv ...}. */
public final class KvCommands implements SystemCommands {

    @Override
    public String section() {
        return "Key-value store (two-phase commit)";
    }

    @Override
    public int order() {
        return 30;
    }

    @Override
    public List<Object> commands() {
        return List.of(new KvCommand());
    }

    @Override
    public Map<String, Object> benches() {
        return Map.of("kv", new KvBench());
    }
}
