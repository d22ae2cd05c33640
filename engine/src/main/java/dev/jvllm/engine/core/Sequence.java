package dev.jvllm.engine.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One completion of a request as the scheduler sees it: its tokens (prompt then output), how many
 * of them have KV / state computed, its state slot and its output bookkeeping.
 */
final class Sequence {
    /** The request all its completions share. */
    record Request(String id, int[] prompt, SamplingParams params, int maxTokens, int eosId, int[] stopIds,
            int[] minTokensMask, int numLogprobs, int numPromptLogprobs) {
        boolean isStopId(int token) {
            for (int id : stopIds) {
                if (id == token) {
                    return true;
                }
            }
            return false;
        }
    }

    final long id;
    final Request request;
    final int index;
    final long seed;
    final OutputText text; // null without a tokenizer

    private int[] output = new int[16];
    private int numOutput;
    /** Leading tokens whose KV (and state) is in the cache. */
    int numComputed;
    /** State slot while running on a model with stateful layers, else −1. */
    int stateSlot = -1;
    /** Full blocks already offered to the prefix cache. */
    int committedBlocks;
    FinishReason finishReason;
    Object stopReason;

    // reported-so-far bookkeeping for deltas
    int reportedTokens;
    final List<TokenLogprobs> pendingLogprobs = new ArrayList<>();
    /** Prompt logprobs computed so far (entry 0 is null), sent once with the first token. */
    final List<TokenLogprobs> promptLogprobs;
    boolean promptLogprobsSent;

    Sequence(long id, Request request, int index, long seed, OutputText text) {
        this.id = id;
        this.request = request;
        this.index = index;
        this.seed = seed;
        this.text = text;
        if (request.numPromptLogprobs() >= 0) {
            promptLogprobs = new ArrayList<>();
            promptLogprobs.add(null);
        } else {
            promptLogprobs = null;
        }
    }

    int promptLength() {
        return request.prompt().length;
    }

    int numOutput() {
        return numOutput;
    }

    int numTokens() {
        return request.prompt().length + numOutput;
    }

    int token(int position) {
        int p = request.prompt().length;
        return position < p ? request.prompt()[position] : output[position - p];
    }

    /** Tokens {@code [from, from + n)}. */
    int[] tokens(int from, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = token(from + i);
        }
        return t;
    }

    int[] allTokens() {
        return tokens(0, numTokens());
    }

    int[] outputTokens() {
        return Arrays.copyOf(output, numOutput);
    }

    void append(int token) {
        if (numOutput == output.length) {
            output = Arrays.copyOf(output, numOutput * 2);
        }
        output[numOutput++] = token;
    }

    boolean finished() {
        return finishReason != null;
    }

    /** Prompt positions p whose logits give a prompt logprob (of token p + 1) not computed yet. */
    int nextPromptLogprobPosition() {
        return promptLogprobs == null ? Integer.MAX_VALUE : promptLogprobs.size() - 1;
    }
}
