package dev.jvllm.engine.core;

/**
 * One token's log probability under the model's raw logits (log-softmax, before penalties and
 * temperature), as vLLM reports it.
 *
 * @param tokenId      the token
 * @param logprob      its log probability
 * @param rank         vLLM's rank: for a chosen token the number of tokens at least as likely (1 =
 *                     the most likely); in a top list the position (1 = first)
 * @param decodedToken its text, or null when the engine has no tokenizer
 */
public record Logprob(int tokenId, float logprob, int rank, String decodedToken) {
}
