package dev.jvllm.engine;

import dev.jvllm.engine.core.FinishReason;
import dev.jvllm.engine.core.TokenLogprobs;
import java.util.List;
import java.util.OptionalDouble;

/**
 * One of a request's n completions (vLLM's CompletionOutput).
 *
 * @param index             which completion (0 ≤ index < n)
 * @param text              the generated text (stop strings excluded unless asked for); "" without a tokenizer
 * @param tokenIds          the generated token ids (a stop token id or EOS that ended it included)
 * @param cumulativeLogprob the sum of the chosen tokens' logprobs when logprobs were asked for
 * @param logprobs          per generated token, or null when not asked for
 * @param finishReason      why it ended
 * @param stopReason        the stop token id (Integer) or stop string (String) that ended it, else null
 */
public record CompletionOutput(int index, String text, int[] tokenIds, OptionalDouble cumulativeLogprob,
        List<TokenLogprobs> logprobs, FinishReason finishReason, Object stopReason) {
}
