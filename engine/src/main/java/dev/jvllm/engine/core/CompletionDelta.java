package dev.jvllm.engine.core;

import java.util.List;

/**
 * What one step added to one completion (vLLM's EngineCoreOutput, detokenized).
 *
 * @param requestId       the request
 * @param index           which of the request's n completions
 * @param newTokenIds     tokens generated in this step (possibly none, e.g. on abort)
 * @param text            text they completed (stop strings and held-back characters excluded); "" without a tokenizer
 * @param logprobs        one entry per new token, or null when the request asked for no logprobs
 * @param promptLogprobs  the prompt's logprobs, sent once with the first token when asked for: entry
 *                        i is prompt token i's (entry 0 is null: the first token has no context)
 * @param finishReason    null while the completion runs
 * @param stopReason      what stopped it: the stop token id (Integer) or stop string (String); null for
 *                        EOS, length and abort
 */
public record CompletionDelta(String requestId, int index, int[] newTokenIds, String text,
        List<TokenLogprobs> logprobs, List<TokenLogprobs> promptLogprobs, FinishReason finishReason,
        Object stopReason) {

    /** Whether this is the completion's last delta. */
    public boolean finished() {
        return finishReason != null;
    }
}
