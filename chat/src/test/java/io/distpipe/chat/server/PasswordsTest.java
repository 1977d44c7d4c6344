package io.distpipe.chat.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PasswordsTest {

    private static final int FAST = 1000;

    @Test
    void shouldMatchOnlyTheRightPassword() {
        Passwords.Hash hash = Passwords.hash("correct horse".toCharArray(), FAST);

        assertThat(hash.algorithm()).isEqualTo("PBKDF2WithHmacSHA256");
        assertThat(Passwords.matches("correct horse".toCharArray(), hash.algorithm(), FAST, hash.salt(), hash.hash()))
                .isTrue();
        assertThat(Passwords.matches("correct horsE".toCharArray(), hash.algorithm(), FAST, hash.salt(), hash.hash()))
                .isFalse();
    }

    @Test
    void shouldSaltEachHashSoEqualPasswordsDoNotLookAlike() {
        Passwords.Hash first = Passwords.hash("same".toCharArray(), FAST);
        Passwords.Hash second = Passwords.hash("same".toCharArray(), FAST);

        assertThat(first.salt()).isNotEqualTo(second.salt());
        assertThat(first.hash()).isNotEqualTo(second.hash()).hasSize(32);
    }

    @Test
    void shouldStoreOnlyAHashOfTheSessionToken() {
        String token = Passwords.newSessionToken();

        assertThat(token).hasSize(48).isNotEqualTo(Passwords.newSessionToken());
        assertThat(Passwords.sessionHash(token)).hasSize(64).isEqualTo(Passwords.sessionHash(token))
                .doesNotContain(token);
    }
}
