package io.distpipe.chat.server;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

import io.distpipe.chat.AccountCreated;
import io.distpipe.chat.ChatEvent;
import io.distpipe.chat.LoggedIn;
import io.distpipe.chat.MessageSent;

/**
 * The chat state materialized from {@code chat.events}: accounts, sessions and per-user inboxes. Every event is
 * judged only against events of its own key (its own partition), whose order Kafka keeps, so the state does not
 * depend on how reads of different partitions interleave. An event whose id was applied already changes nothing, and
 * the first account created under a name wins. Not thread-safe: {@link ChatServer} guards it.
 */
public final class ChatState {

    /** A stored account: the name and the salted hash, never the password. */
    public record Account(String user, String algorithm, int iterations, byte[] salt, byte[] hash, String eventId) {
    }

    /** A message in an inbox. */
    public record Message(String messageId, String from, String to, String text, Instant at) {
    }

    private final Map<String, Account> accounts = new TreeMap<>();
    private final Map<String, String> sessions = new HashMap<>();
    private final Map<String, List<Message>> inboxes = new HashMap<>();
    private final Set<String> appliedEvents = new HashSet<>();
    private long ignored;

    /** Applies one event; returns false if it was ignored (duplicate id, name taken, unknown user). */
    public boolean apply(ChatEvent event) {
        if (!appliedEvents.add(event.getEventId())) {
            ignored++;
            return false;
        }
        Object payload = event.getPayload();
        boolean applied;
        if (payload instanceof AccountCreated created) {
            applied = accounts.putIfAbsent(created.getUser(), new Account(created.getUser(), created.getAlgorithm(),
                    created.getIterations(), bytes(created.getSalt()), bytes(created.getHash()),
                    event.getEventId())) == null;
        } else if (payload instanceof LoggedIn loggedIn) {
            applied = accounts.containsKey(loggedIn.getUser());
            if (applied) {
                sessions.put(loggedIn.getSessionHash(), loggedIn.getUser());
            }
        } else if (payload instanceof MessageSent sent) {
            // Only the recipient is checked: its account is keyed like the message, so it comes first in the same
            // partition. The sender's account lives in another partition that a reader may not have reached yet;
            // the server checked the sender's session before it wrote the message.
            applied = accounts.containsKey(sent.getTo());
            if (applied) {
                inboxes.computeIfAbsent(sent.getTo(), user -> new ArrayList<>()).add(new Message(sent.getMessageId(),
                        sent.getFrom(), sent.getTo(), sent.getText(), event.getAt()));
            }
        } else {
            applied = false;
        }
        if (!applied) {
            ignored++;
        }
        return applied;
    }

    public Optional<Account> account(String user) {
        return Optional.ofNullable(accounts.get(user));
    }

    /** The user a session belongs to, by the hash of its token. */
    public Optional<String> sessionUser(String sessionHash) {
        return Optional.ofNullable(sessions.get(sessionHash));
    }

    /** The user's messages in the order they were written. */
    public List<Message> inbox(String user) {
        return List.copyOf(inboxes.getOrDefault(user, List.of()));
    }

    /** All account names, sorted. */
    public List<String> users() {
        return List.copyOf(accounts.keySet());
    }

    /** Whether an event with this id has been applied (or seen and ignored). */
    public boolean hasSeen(String eventId) {
        return appliedEvents.contains(eventId);
    }

    /** Number of events that changed nothing (duplicates, taken names, unknown users). */
    public long ignoredEvents() {
        return ignored;
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer copy = buffer.duplicate();
        byte[] result = new byte[copy.remaining()];
        copy.get(result);
        return result;
    }
}
