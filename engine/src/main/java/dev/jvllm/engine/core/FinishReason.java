package dev.jvllm.engine.core;

/** Why a completion ended (vLLM's finish_reason; {@link #toString()} gives vLLM's spelling). */
public enum FinishReason {
    /** EOS, a stop token id or a stop string. */
    STOP,
    /** max_tokens, or the model's max length. */
    LENGTH,
    /** Aborted by the caller. */
    ABORT;

    @Override
    public String toString() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
