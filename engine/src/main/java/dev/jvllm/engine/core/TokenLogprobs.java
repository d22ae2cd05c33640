package dev.jvllm.engine.core;

import java.util.List;

/**
 * The logprobs at one position: the token that was chosen there (sampled, or the prompt's) and
 * the {@code n} most likely tokens in descending order (ties: lower id first), which may include
 * the chosen one. vLLM returns the same as one dict of up to n + 1 entries.
 */
public record TokenLogprobs(Logprob chosen, List<Logprob> top) {
    public TokenLogprobs {
        top = List.copyOf(top);
    }
}
