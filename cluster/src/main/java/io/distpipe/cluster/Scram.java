package io.distpipe.cluster;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.kafka.common.utils.Utils;

/**
 * A SASL/SCRAM-SHA-512 listener for a single node: the broker's client listener and its inter-broker traffic
 * authenticate with SCRAM, the user's credential is written into the metadata when the storage is formatted (as
 * {@code kafka-storage.sh format --add-scram} does, KIP-900), and clients get the properties that log them in. The
 * controller listener stays on loopback without authentication, as a single combined node's own.
 *
 * <p>With {@code authorize}, the node runs Kafka's {@code StandardAuthorizer}: nothing is allowed without an ACL,
 * {@code user} is the super user that creates topics, users and ACLs, and so is the controller listener's anonymous
 * principal (the node's own broker talks to its controller over it; it is bound to loopback).
 *
 * @param user      the SCRAM user (letters, digits, '-', '_', '.'): the one every client logs in as, or the super user
 * @param password  its password (the same characters: it goes into a JAAS line unquoted of anything)
 * @param authorize whether ACLs are enforced
 */
public record Scram(String user, String password, boolean authorize) {

    /** The mechanism, on the wire and in the listener's configuration keys. */
    public static final String MECHANISM = "SCRAM-SHA-512";
    /** Name (and protocol) of the authenticated client listener. */
    public static final String LISTENER = "SASL_PLAINTEXT";

    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._-]+");

    public Scram {
        if (user == null || !SAFE.matcher(user).matches() || password == null || !SAFE.matcher(password).matches()) {
            throw new IllegalArgumentException("a SCRAM user and password are letters, digits, '.', '-' and '_'");
        }
    }

    /** A listener without an authorizer: every authenticated client may do anything. */
    public Scram(String user, String password) {
        this(user, password, false);
    }

    /** The JAAS line that logs in as this user. */
    public String jaasConfig() {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
            + "\" password=\"" + password + "\";";
    }

    /** What a client needs to log in: security.protocol, sasl.mechanism and sasl.jaas.config. */
    public Map<String, String> clientProperties() {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("security.protocol", "SASL_PLAINTEXT");
        props.put("sasl.mechanism", MECHANISM);
        props.put("sasl.jaas.config", jaasConfig());
        return props;
    }

    /** The server properties that make {@code host:port} this listener, beside the controller's on its own port. */
    public Map<String, String> serverOverrides(String host, int port, int controllerPort) {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("listeners", LISTENER + "://" + Utils.formatAddress(host, port) + "," + NodeConfig.CONTROLLER_LISTENER
            + "://" + Utils.formatAddress(host, controllerPort));
        props.put("advertised.listeners", LISTENER + "://" + Utils.formatAddress(host, port));
        props.put("listener.security.protocol.map", LISTENER + ":SASL_PLAINTEXT," + NodeConfig.CONTROLLER_LISTENER
            + ":PLAINTEXT");
        props.put("inter.broker.listener.name", LISTENER);
        props.put("sasl.enabled.mechanisms", MECHANISM);
        props.put("sasl.mechanism.inter.broker.protocol", MECHANISM);
        props.put("listener.name." + LISTENER.toLowerCase(java.util.Locale.ROOT) + "."
            + MECHANISM.toLowerCase(java.util.Locale.ROOT) + ".sasl.jaas.config", jaasConfig());
        if (authorize) {
            props.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            props.put("super.users", "User:" + user + ";User:ANONYMOUS");
            props.put("allow.everyone.if.no.acl.found", "false");
        }
        return props;
    }

    /** The formatter's argument that stores this credential ({@code kafka-storage.sh format --add-scram}). */
    public List<String> formatArguments() {
        return List.of(MECHANISM + "=[name=" + user + ",password=" + password + "]");
    }
}
