package io.distpipe.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.distpipe.common.KafkaClients;
import io.distpipe.common.command.Cli;
import io.distpipe.common.command.ClusterOptions;
import io.distpipe.topics.Access;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AclBinding;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code distpipe acls}: the ACLs of every service role, derived from the catalog; printed, or created on a cluster. */
@Command(name = "acls", mixinStandardHelpOptions = true,
    description = {"Print the access of every role (principal = SCRAM user): what it writes (from the catalog's "
        + "writers), reads, its groups and transactional ids, as docs/acls.md holds it.",
        "With --apply, create those ACLs on the cluster (log in as a super user with --command-config); the users "
            + "themselves are created with kafka-configs.sh or the Admin API."})
final class AclsCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--apply", description = "Create the ACLs on the cluster given with --bootstrap-servers.")
    boolean apply;

    @Option(names = "--role", paramLabel = "PRINCIPAL", description = "Only this role (repeatable; default: all).")
    List<String> roles = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        List<Access> chosen = new ArrayList<>();
        for (String role : roles) {
            chosen.add(Access.byPrincipal(role).orElseThrow(() -> new CommandLine.ParameterException(
                spec.commandLine(), "no role '" + role + "'; the roles are " + Access.ALL.stream()
                    .map(Access::principal).toList())));
        }
        if (chosen.isEmpty()) {
            chosen.addAll(Access.ALL);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (!apply) {
            out.print(Access.table());
            out.flush();
            return Cli.EXIT_OK;
        }
        if (cluster.bootstrapServers == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "acls --apply needs --bootstrap-servers");
        }
        List<AclBinding> acls = new ArrayList<>();
        chosen.forEach(role -> acls.addAll(role.bindings(role.principal())));
        try (Admin admin = KafkaClients.reachableAdmin(cluster.bootstrapServers, "distpipe-acls")) {
            admin.createAcls(acls).all().get(KafkaClients.reachTimeoutMs(), TimeUnit.MILLISECONDS);
        }
        out.printf("created %d ACLs for %d roles: %s%n", acls.size(), chosen.size(),
            chosen.stream().map(Access::principal).toList());
        out.flush();
        return Cli.EXIT_OK;
    }
}
