package io.distpipe.chat.cli;

import java.util.List;

import io.distpipe.common.command.SystemCommands;

/** The quorum chat's part of the command line: {@code distpipe chat ...}. */
public final class ChatCommands implements SystemCommands {

    @Override
    public String section() {
        return "Quorum chat (five nodes)";
    }

    @Override
    public int order() {
        return 50;
    }

    @Override
    public List<Object> commands() {
        return List.of(new ChatCommand());
    }
}
