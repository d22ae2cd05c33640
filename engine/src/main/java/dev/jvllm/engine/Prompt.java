package dev.jvllm.engine;

import java.util.Arrays;
import java.util.Objects;

/**
 * A prompt: text (encoded with the model's tokenizer.json, special tokens added as its
 * post-processor says) or token ids as they are.
 */
public final class Prompt {
    private final String text;
    private final int[] tokenIds;

    private Prompt(String text, int[] tokenIds) {
        this.text = text;
        this.tokenIds = tokenIds;
    }

    /** A text prompt. */
    public static Prompt of(String text) {
        return new Prompt(Objects.requireNonNull(text, "text"), null);
    }

    /** A prompt of token ids, used as given. */
    public static Prompt ofTokens(int... tokenIds) {
        return new Prompt(null, Objects.requireNonNull(tokenIds, "tokenIds").clone());
    }

    /** The text, or null for a token-id prompt. */
    public String text() {
        return text;
    }

    /** The token ids, or null for a text prompt. */
    public int[] tokenIds() {
        return tokenIds == null ? null : tokenIds.clone();
    }

    @Override
    public String toString() {
        return text != null ? "Prompt.of(\"" + text + "\")" : "Prompt.ofTokens(" + Arrays.toString(tokenIds) + ")";
    }
}
