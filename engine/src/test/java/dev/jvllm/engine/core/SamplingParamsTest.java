package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {

    private static void rejected(UnaryOperator<SamplingParams.Builder> b, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.apply(SamplingParams.builder()).build());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "\"" + e.getMessage() + "\" should mention " + f);
        }
    }

    @Test
    void defaultsAreVllms() {
        SamplingParams p = SamplingParams.defaults();
        assertEquals(1, p.n());
        assertEquals(1.0, p.temperature());
        assertEquals(1.0, p.topP());
        assertEquals(0, p.topK());
        assertEquals(0.0, p.minP());
        assertTrue(p.seed().isEmpty());
        assertEquals(16, p.maxTokens().getAsInt());
        assertEquals(0, p.minTokens());
        assertEquals(1.0, p.repetitionPenalty());
        assertEquals(0.0, p.presencePenalty());
        assertEquals(0.0, p.frequencyPenalty());
        assertTrue(p.stop().isEmpty());
        assertTrue(p.stopTokenIds().isEmpty());
        assertFalse(p.ignoreEos());
        assertTrue(p.skipSpecialTokens());
        assertTrue(p.logprobs().isEmpty());
        assertTrue(p.promptLogprobs().isEmpty());
        assertFalse(p.greedy());
        assertFalse(p.hasPenalties());
    }

    @Test
    void invalidValuesAreRejectedWithTheFieldAndTheValue() {
        rejected(b -> b.n(0), "n must be in [1, 16384]", "got 0");
        rejected(b -> b.temperature(-0.5), "temperature must be in [0, 2]", "-0.5");
        rejected(b -> b.temperature(2.5), "temperature must be in [0, 2]", "2.5");
        rejected(b -> b.temperature(Double.NaN), "temperature");
        rejected(b -> b.topP(0), "top_p must be in (0, 1]", "got 0.0");
        rejected(b -> b.topP(1.5), "top_p", "1.5");
        rejected(b -> b.topK(-2), "top_k must be 0 (disable), or at least 1", "-2");
        rejected(b -> b.minP(1.1), "min_p must be in [0, 1]", "1.1");
        rejected(b -> b.presencePenalty(2.1), "presence_penalty must be in [-2, 2]", "2.1");
        rejected(b -> b.frequencyPenalty(-3), "frequency_penalty must be in [-2, 2]", "-3.0");
        rejected(b -> b.repetitionPenalty(0), "repetition_penalty must be a finite number greater than zero", "0.0");
        rejected(b -> b.repetitionPenalty(Double.POSITIVE_INFINITY), "repetition_penalty", "Infinity");
        rejected(b -> b.maxTokens(0), "max_tokens must be at least 1", "got 0");
        rejected(b -> b.minTokens(-1), "min_tokens must be greater than or equal to 0", "-1");
        rejected(b -> b.maxTokens(4).minTokens(5), "min_tokens must be less than or equal to max_tokens=4", "got 5");
        rejected(b -> b.logprobs(-2), "logprobs must be non-negative or -1", "-2");
        rejected(b -> b.promptLogprobs(-3), "prompt_logprobs must be non-negative or -1", "-3");
        rejected(b -> b.stop("ok", ""), "stop cannot contain an empty string");
        rejected(b -> b.stopTokenIds(3, -1), "stop_token_ids must be token ids >= 0", "-1");
        rejected(b -> b.temperature(0).n(2), "n must be 1 when using greedy sampling", "got 2");
    }

    @Test
    void greedyResetsTheFiltersAndTinyTemperaturesAreRaised() {
        SamplingParams g = SamplingParams.builder().temperature(0).topK(5).topP(0.5).minP(0.2).build();
        assertTrue(g.greedy());
        assertEquals(0, g.topK());
        assertEquals(1.0, g.topP());
        assertEquals(0.0, g.minP());
        assertEquals(0.01, SamplingParams.builder().temperature(0.001).build().temperature());
        assertEquals(0, SamplingParams.builder().topK(-1).build().topK(), "-1 means off, read as 0");
    }

    @Test
    void seedMinusOneMeansNoneAndDuplicateStopIdsCollapse() {
        assertTrue(SamplingParams.builder().seed(-1L).build().seed().isEmpty());
        assertEquals(7, SamplingParams.builder().seed(7L).build().seed().getAsLong());
        assertEquals(List.of(5, 3), SamplingParams.builder().stopTokenIds(5, 3, 5).build().stopTokenIds());
    }

    @Test
    void stopBufferHoldsBackTheLongestStopStringMinusOne() {
        assertEquals(4, SamplingParams.builder().stop("ab", "abcde").build().stopBufferLength());
        assertEquals(0, SamplingParams.builder().stop("abc").includeStopStrInOutput(true).build().stopBufferLength());
        assertEquals(0, SamplingParams.defaults().stopBufferLength());
    }

    @Test
    void toBuilderRoundTripsAndChangesOneField() {
        SamplingParams p = SamplingParams.builder().n(3).temperature(0.7).topK(40).topP(0.9).minP(0.05).seed(11L)
                .presencePenalty(0.5).frequencyPenalty(-0.5).repetitionPenalty(1.2).maxTokens(null).minTokens(2)
                .stop("x").stopTokenIds(9).ignoreEos(true).includeStopStrInOutput(true).skipSpecialTokens(false)
                .logprobs(3).promptLogprobs(-1).build();
        assertEquals(p.toString(), p.toBuilder().build().toString());
        assertTrue(p.maxTokens().isEmpty());
        assertTrue(p.hasPenalties());
        assertEquals(0.3, p.toBuilder().temperature(0.3).build().temperature());
    }
}
