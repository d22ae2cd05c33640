package dev.jvllm.engine;

import dev.jvllm.engine.core.TokenLogprobs;
import java.time.Duration;
import java.util.List;

/**
 * A finished request (vLLM's RequestOutput).
 *
 * @param requestId        the engine's id for it
 * @param prompt           the prompt text, or null for a token-id prompt
 * @param promptTokenIds   the prompt's token ids
 * @param promptLogprobs   per prompt token (entry 0 is null) when asked for, else null
 * @param outputs          the n completions, by index
 * @param timeToFirstToken from submission (the call that submitted it, before its prompt was encoded and checked, as
 *                         vLLM's arrival time) to the first generated token of any completion
 * @param totalTime        from submission to the last completion's end
 */
public record RequestOutput(String requestId, String prompt, int[] promptTokenIds, List<TokenLogprobs> promptLogprobs,
        List<CompletionOutput> outputs, Duration timeToFirstToken, Duration totalTime) {

    /** The first completion's text (the only one when n = 1). */
    public String text() {
        return outputs.get(0).text();
    }

    /** The first completion's token ids. */
    public int[] tokenIds() {
        return outputs.get(0).tokenIds();
    }
}
