package io.distpipe.replicas.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.distpipe.common.command.SystemCommands;

/** The replicated server's part of the command line: {@code distpipe replicas ...} and its older names. */
public final class ReplicasCommands implements SystemCommands {

    @Override
    public String section() {
        return "Replicated server (active and passive)";
    }

    @Override
    public int order() {
        return 20;
    }

    @Override
    public List<Object> commands() {
        return List.of(new ReplicasCommand());
    }

    @Override
    public Map<String, Object> aliases() {
        Map<String, Object> aliases = new LinkedHashMap<>();
        aliases.put("replica", new ReplicaCommand());
        aliases.put("replica-manager", new ReplicaManagerCommand());
        aliases.put("replica-client", new ReplicaClientCommand());
        return aliases;
    }

    @Override
    public Map<String, Object> benches() {
        return Map.of("replicas", new ReplicasBench());
    }
}
