package io.distpipe.cli;

import java.util.List;

import io.distpipe.common.command.SystemCommands;

/** The tools every system shares: the topic catalog, reading and replaying topics, a registry, a broker, membership. */
public final class ToolCommands implements SystemCommands {

    @Override
    public String section() {
        return "Tools";
    }

    @Override
    public int order() {
        return 100;
    }

    @Override
    public List<Object> commands() {
        return List.of(new TopicsCommand(), new ConsumeCommand(), new ReplayCommand(), new RegistryCommand(),
            new BrokerCommand(), new MembershipCommand(), new AclsCommand());
    }
}
