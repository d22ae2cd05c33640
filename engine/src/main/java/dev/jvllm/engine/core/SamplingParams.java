package dev.jvllm.engine.core;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * How to generate one request's completions, with vLLM's {@code SamplingParams} semantics (the
 * OpenAI completion parameters). Immutable; build with {@link #builder()}. Construction validates
 * every field the way vLLM does and fails with an {@link IllegalArgumentException} naming the
 * field, the allowed range and the value given. Checks that need the model (vocabulary size,
 * {@code max_logprobs}, max model length) happen when the engine accepts the request.
 *
 * <p>Normalizations, as vLLM: a temperature in (0, 0.01) is raised to 0.01 (smaller ones overflow
 * the softmax); temperature 0 means greedy and resets top_p, top_k and min_p to "off" (and then
 * n must be 1); a seed of −1 means "no seed"; duplicate stop token ids are dropped; top_k −1 is
 * read as 0 (off).
 */
public final class SamplingParams {
    /** vLLM's VLLM_MAX_N_SEQUENCES default. */
    static final int MAX_N = 16384;
    private static final double SAMPLING_EPS = 1e-5;
    private static final double MIN_TEMPERATURE = 1e-2;

    private final int n;
    private final double temperature;
    private final double topP;
    private final int topK;
    private final double minP;
    private final Long seed;
    private final double presencePenalty;
    private final double frequencyPenalty;
    private final double repetitionPenalty;
    private final Integer maxTokens;
    private final int minTokens;
    private final List<String> stop;
    private final List<Integer> stopTokenIds;
    private final boolean ignoreEos;
    private final boolean includeStopStrInOutput;
    private final boolean skipSpecialTokens;
    private final Integer logprobs;
    private final Integer promptLogprobs;

    private SamplingParams(Builder b) {
        n = b.n;
        presencePenalty = b.presencePenalty;
        frequencyPenalty = b.frequencyPenalty;
        repetitionPenalty = b.repetitionPenalty;
        seed = b.seed == null || b.seed == -1 ? null : b.seed;
        stop = List.copyOf(Objects.requireNonNull(b.stop, "stop"));
        List<Integer> ids = new ArrayList<>(new LinkedHashSet<>(Objects.requireNonNull(b.stopTokenIds, "stopTokenIds")));
        stopTokenIds = List.copyOf(ids);
        ignoreEos = b.ignoreEos;
        includeStopStrInOutput = b.includeStopStrInOutput;
        skipSpecialTokens = b.skipSpecialTokens;
        maxTokens = b.maxTokens;
        minTokens = b.minTokens;
        logprobs = b.logprobs;
        promptLogprobs = b.promptLogprobs;
        double t = b.temperature;
        if (t > 0 && t < MIN_TEMPERATURE) {
            t = MIN_TEMPERATURE; // vLLM raises it (with a warning): smaller ones give inf/nan in the softmax
        }
        temperature = t;
        verify(b);
        if (temperature < SAMPLING_EPS) { // greedy: the filters cannot change the argmax
            topP = 1.0;
            topK = 0;
            minP = 0.0;
            if (n > 1) {
                throw invalid("n must be 1 when using greedy sampling (temperature 0), got " + n
                        + "; set a temperature > 0 for several different completions");
            }
        } else {
            topP = b.topP;
            topK = b.topK == -1 ? 0 : b.topK;
            minP = b.minP;
        }
    }

    private void verify(Builder b) {
        if (n < 1 || n > MAX_N) {
            throw invalid("n must be in [1, " + MAX_N + "], got " + n);
        }
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) {
            throw invalid("presence_penalty must be in [-2, 2], got " + presencePenalty);
        }
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) {
            throw invalid("frequency_penalty must be in [-2, 2], got " + frequencyPenalty);
        }
        if (!Double.isFinite(repetitionPenalty) || repetitionPenalty <= 0) {
            throw invalid("repetition_penalty must be a finite number greater than zero (1 = off), got "
                    + repetitionPenalty);
        }
        if (!Double.isFinite(b.temperature) || b.temperature < 0 || b.temperature > 2) {
            throw invalid("temperature must be in [0, 2] (0 = greedy), got " + b.temperature);
        }
        if (!(b.topP > 0 && b.topP <= 1)) {
            throw invalid("top_p must be in (0, 1] (1 = off), got " + b.topP);
        }
        if (b.topK < -1) {
            throw invalid("top_k must be 0 (disable), or at least 1, got " + b.topK);
        }
        if (!(b.minP >= 0 && b.minP <= 1)) {
            throw invalid("min_p must be in [0, 1] (0 = off), got " + b.minP);
        }
        if (maxTokens != null && maxTokens < 1) {
            throw invalid("max_tokens must be at least 1 (or null for up to the model's max length), got " + maxTokens);
        }
        if (minTokens < 0) {
            throw invalid("min_tokens must be greater than or equal to 0, got " + minTokens);
        }
        if (maxTokens != null && minTokens > maxTokens) {
            throw invalid("min_tokens must be less than or equal to max_tokens=" + maxTokens + ", got " + minTokens);
        }
        if (logprobs != null && logprobs != -1 && logprobs < 0) {
            throw invalid("logprobs must be non-negative or -1 (the whole vocabulary), got " + logprobs);
        }
        if (promptLogprobs != null && promptLogprobs != -1 && promptLogprobs < 0) {
            throw invalid("prompt_logprobs must be non-negative or -1 (the whole vocabulary), got " + promptLogprobs);
        }
        for (Integer id : stopTokenIds) {
            if (id == null || id < 0) {
                throw invalid("stop_token_ids must be token ids >= 0, got " + b.stopTokenIds);
            }
        }
        for (String s : stop) {
            if (s.isEmpty()) {
                throw invalid("stop cannot contain an empty string");
            }
        }
    }

    private static IllegalArgumentException invalid(String message) {
        return new IllegalArgumentException("SamplingParams: " + message);
    }

    /** A builder with vLLM's defaults (temperature 1, max_tokens 16, n 1, no filters). */
    public static Builder builder() {
        return new Builder();
    }

    /** vLLM's defaults. */
    public static SamplingParams defaults() {
        return builder().build();
    }

    /** Greedy decoding of up to {@code maxTokens} tokens. */
    public static SamplingParams greedy(int maxTokens) {
        return builder().temperature(0).maxTokens(maxTokens).build();
    }

    /** A builder holding these values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.n = n;
        b.temperature = temperature;
        b.topP = topP;
        b.topK = topK;
        b.minP = minP;
        b.seed = seed;
        b.presencePenalty = presencePenalty;
        b.frequencyPenalty = frequencyPenalty;
        b.repetitionPenalty = repetitionPenalty;
        b.maxTokens = maxTokens;
        b.minTokens = minTokens;
        b.stop = stop;
        b.stopTokenIds = stopTokenIds;
        b.ignoreEos = ignoreEos;
        b.includeStopStrInOutput = includeStopStrInOutput;
        b.skipSpecialTokens = skipSpecialTokens;
        b.logprobs = logprobs;
        b.promptLogprobs = promptLogprobs;
        return b;
    }

    /** Number of completions for the prompt. */
    public int n() {
        return n;
    }

    /** 0 = greedy; else logits are divided by it before the softmax. */
    public double temperature() {
        return temperature;
    }

    /** Whether this is greedy decoding (temperature 0). */
    public boolean greedy() {
        return temperature < SAMPLING_EPS;
    }

    /** Keep the smallest set of most likely tokens whose probability reaches top_p (1 = off). */
    public double topP() {
        return topP;
    }

    /** Keep the top_k most likely tokens (0 = off). */
    public int topK() {
        return topK;
    }

    /** Keep tokens at least min_p times as likely as the most likely one (0 = off). */
    public double minP() {
        return minP;
    }

    /**
     * The request's seed: the same seed and prompt give the same tokens whatever else the engine
     * runs at the same time. Empty: the engine draws one.
     */
    public OptionalLong seed() {
        return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
    }

    /** Subtracted from the logit of every token already generated (not the prompt's). */
    public double presencePenalty() {
        return presencePenalty;
    }

    /** Subtracted from a token's logit once per time it was generated. */
    public double frequencyPenalty() {
        return frequencyPenalty;
    }

    /** Divides positive (multiplies negative) logits of tokens in the prompt or the output; 1 = off. */
    public double repetitionPenalty() {
        return repetitionPenalty;
    }

    /** Whether any penalty is on. */
    boolean hasPenalties() {
        return presencePenalty != 0 || frequencyPenalty != 0 || repetitionPenalty != 1;
    }

    /** Most tokens to generate per completion; empty = up to the model's max length. */
    public OptionalInt maxTokens() {
        return maxTokens == null ? OptionalInt.empty() : OptionalInt.of(maxTokens);
    }

    /** Tokens to generate before EOS, stop token ids or stop strings may end the completion. */
    public int minTokens() {
        return minTokens;
    }

    /** Strings that end the completion; the output text stops before them (see {@link #includeStopStrInOutput()}). */
    public List<String> stop() {
        return stop;
    }

    /** Token ids that end the completion (kept in the token ids, left out of the text). */
    public List<Integer> stopTokenIds() {
        return stopTokenIds;
    }

    /** Whether to keep generating past EOS. */
    public boolean ignoreEos() {
        return ignoreEos;
    }

    /** Whether the text keeps the stop string (or stop token) that ended it. */
    public boolean includeStopStrInOutput() {
        return includeStopStrInOutput;
    }

    /** Whether special tokens are left out of the output text. */
    public boolean skipSpecialTokens() {
        return skipSpecialTokens;
    }

    /**
     * How many most likely tokens to report per generated token, next to the sampled one (whose
     * logprob is always reported); −1 = the whole vocabulary; empty = none. Logprobs are those of
     * the model's raw logits (before penalties and temperature), as vLLM's default.
     */
    public OptionalInt logprobs() {
        return logprobs == null ? OptionalInt.empty() : OptionalInt.of(logprobs);
    }

    /** As {@link #logprobs()} for every prompt token after the first. */
    public OptionalInt promptLogprobs() {
        return promptLogprobs == null ? OptionalInt.empty() : OptionalInt.of(promptLogprobs);
    }

    /** Characters to hold back from a stream so that a stop string is never half emitted. */
    int stopBufferLength() {
        if (stop.isEmpty() || includeStopStrInOutput) {
            return 0;
        }
        int max = 0;
        for (String s : stop) {
            max = Math.max(max, s.length());
        }
        return max - 1;
    }

    @Override
    public String toString() {
        return "SamplingParams{n=" + n + ", temperature=" + temperature + ", top_p=" + topP + ", top_k=" + topK
                + ", min_p=" + minP + ", seed=" + seed + ", presence_penalty=" + presencePenalty
                + ", frequency_penalty=" + frequencyPenalty + ", repetition_penalty=" + repetitionPenalty
                + ", max_tokens=" + maxTokens + ", min_tokens=" + minTokens + ", stop=" + stop + ", stop_token_ids="
                + stopTokenIds + ", ignore_eos=" + ignoreEos + ", include_stop_str_in_output=" + includeStopStrInOutput
                + ", skip_special_tokens=" + skipSpecialTokens + ", logprobs=" + logprobs + ", prompt_logprobs="
                + promptLogprobs + "}";
    }

    /** Collects values; {@link #build()} validates them. Not thread-safe. */
    public static final class Builder {
        private int n = 1;
        private double temperature = 1.0;
        private double topP = 1.0;
        private int topK = 0;
        private double minP = 0.0;
        private Long seed;
        private double presencePenalty;
        private double frequencyPenalty;
        private double repetitionPenalty = 1.0;
        private Integer maxTokens = 16;
        private int minTokens;
        private List<String> stop = List.of();
        private List<Integer> stopTokenIds = List.of();
        private boolean ignoreEos;
        private boolean includeStopStrInOutput;
        private boolean skipSpecialTokens = true;
        private Integer logprobs;
        private Integer promptLogprobs;

        private Builder() {
        }

        public Builder n(int n) {
            this.n = n;
            return this;
        }

        public Builder temperature(double temperature) {
            this.temperature = temperature;
            return this;
        }

        public Builder topP(double topP) {
            this.topP = topP;
            return this;
        }

        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        public Builder minP(double minP) {
            this.minP = minP;
            return this;
        }

        /** null or −1: no seed. */
        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        public Builder presencePenalty(double p) {
            this.presencePenalty = p;
            return this;
        }

        public Builder frequencyPenalty(double p) {
            this.frequencyPenalty = p;
            return this;
        }

        public Builder repetitionPenalty(double p) {
            this.repetitionPenalty = p;
            return this;
        }

        /** null: up to the model's max length. */
        public Builder maxTokens(Integer maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        public Builder minTokens(int minTokens) {
            this.minTokens = minTokens;
            return this;
        }

        public Builder stop(List<String> stop) {
            this.stop = stop;
            return this;
        }

        public Builder stop(String... stop) {
            return stop(List.of(stop));
        }

        public Builder stopTokenIds(List<Integer> ids) {
            this.stopTokenIds = ids;
            return this;
        }

        public Builder stopTokenIds(int... ids) {
            List<Integer> l = new ArrayList<>();
            for (int id : ids) {
                l.add(id);
            }
            return stopTokenIds(l);
        }

        public Builder ignoreEos(boolean ignoreEos) {
            this.ignoreEos = ignoreEos;
            return this;
        }

        public Builder includeStopStrInOutput(boolean include) {
            this.includeStopStrInOutput = include;
            return this;
        }

        public Builder skipSpecialTokens(boolean skip) {
            this.skipSpecialTokens = skip;
            return this;
        }

        /** null: none; −1: the whole vocabulary. */
        public Builder logprobs(Integer n) {
            this.logprobs = n;
            return this;
        }

        /** null: none; −1: the whole vocabulary. */
        public Builder promptLogprobs(Integer n) {
            this.promptLogprobs = n;
            return this;
        }

        /** @throws IllegalArgumentException naming the invalid field, its range and the value */
        public SamplingParams build() {
            return new SamplingParams(this);
        }
    }
}
