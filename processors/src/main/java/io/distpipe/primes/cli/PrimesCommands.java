package io.distpipe.primes.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.distpipe.common.command.SystemCommands;

/** The primes system's part of the command line: {@code distpipe primes ...}, and its older top-level commands. */
public final class PrimesCommands implements SystemCommands {

    @Override
    public String section() {
        return "Primes (coordinator, worker group, dedup processor)";
    }

    @Override
    public int order() {
        return 10;
    }

    @Override
    public List<Object> commands() {
        return List.of(new PrimesCommand());
    }

    @Override
    public Map<String, Object> aliases() {
        Map<String, Object> aliases = new LinkedHashMap<>();
        aliases.put("worker", new WorkerCommand());
        aliases.put("coordinator", new CoordinatorCommand());
        aliases.put("dedup", new DedupCommand());
        aliases.put("status", new StatusCommand());
        aliases.put("restore", new RestoreCommand());
        return aliases;
    }

    @Override
    public Map<String, Object> benches() {
        return Map.of("primes", new PrimesBench());
    }
}
