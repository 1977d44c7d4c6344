package io.distpipe.chat.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Instant;

import io.distpipe.chat.AccountCreated;
import io.distpipe.chat.ChatEvent;
import io.distpipe.chat.LoggedIn;
import io.distpipe.chat.MessageSent;
import org.junit.jupiter.api.Test;

class ChatStateTest {

    private final ChatState state = new ChatState();
    private int events;

    private ChatEvent event(Object payload) {
        events++;
        return ChatEvent.newBuilder().setEventId("e-" + events).setServer("s").setAt(Instant.ofEpochMilli(events))
                .setPayload(payload).build();
    }

    private static AccountCreated account(String user, byte hashByte) {
        return AccountCreated.newBuilder().setUser(user).setAlgorithm(Passwords.ALGORITHM).setIterations(1000)
                .setSalt(ByteBuffer.wrap(new byte[] {1})).setHash(ByteBuffer.wrap(new byte[] {hashByte})).build();
    }

    private static MessageSent message(String id, String from, String to) {
        return MessageSent.newBuilder().setMessageId(id).setFrom(from).setTo(to).setText("text " + id).build();
    }

    @Test
    void shouldKeepTheFirstAccountCreatedUnderAName() {
        assertThat(state.apply(event(account("alice", (byte) 1)))).isTrue();
        assertThat(state.apply(event(account("alice", (byte) 2)))).isFalse();

        assertThat(state.account("alice")).get().extracting(a -> a.hash()[0]).isEqualTo((byte) 1);
        assertThat(state.users()).containsExactly("alice");
        assertThat(state.ignoredEvents()).isEqualTo(1);
    }

    @Test
    void shouldDeliverMessagesToTheRecipientsInboxInOrder() {
        state.apply(event(account("bob", (byte) 1)));
        state.apply(event(account("alice", (byte) 1)));
        state.apply(event(message("m1", "alice", "bob")));
        state.apply(event(message("m2", "alice", "bob")));
        state.apply(event(message("m3", "bob", "alice")));

        assertThat(state.inbox("bob")).extracting(ChatState.Message::messageId).containsExactly("m1", "m2");
        assertThat(state.inbox("alice")).extracting(ChatState.Message::messageId).containsExactly("m3");
        assertThat(state.users()).containsExactly("alice", "bob");
    }

    @Test
    void shouldIgnoreAMessageToAnUnknownUserAndADuplicateEvent() {
        state.apply(event(account("alice", (byte) 1)));
        ChatEvent toNobody = event(message("m1", "alice", "nobody"));
        ChatEvent login = event(LoggedIn.newBuilder().setUser("alice").setSessionHash("h1").build());

        assertThat(state.apply(toNobody)).isFalse();
        assertThat(state.apply(login)).isTrue();
        assertThat(state.apply(login)).isFalse();
        assertThat(state.sessionUser("h1")).contains("alice");
        assertThat(state.sessionUser("h2")).isEmpty();
        assertThat(state.inbox("nobody")).isEmpty();
        assertThat(state.hasSeen(toNobody.getEventId())).isTrue();
    }

    @Test
    void shouldDeliverAMessageBeforeTheSendersAccountFromAnotherPartitionIsRead() {
        state.apply(event(account("bob", (byte) 1)));
        state.apply(event(message("m1", "alice", "bob")));
        state.apply(event(account("alice", (byte) 1)));

        assertThat(state.inbox("bob")).extracting(ChatState.Message::messageId).containsExactly("m1");
    }

    @Test
    void shouldIgnoreALoginOfAnUnknownUser() {
        assertThat(state.apply(event(LoggedIn.newBuilder().setUser("ghost").setSessionHash("h").build()))).isFalse();
        assertThat(state.sessionUser("h")).isEmpty();
    }
}
