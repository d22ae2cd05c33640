package dev.jvllm.models;

import dev.jvllm.api.Backend;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parity with Hugging Face transformers on the committed fixtures on the CPU (the rules:
 * {@link ModelParity}): f32 logits within 1e-4 of the logit scale at every prompt position, and
 * greedy continuations equal token by token (stricter than vLLM's top-5 containment rule, which
 * f32 does not need); bf16 meets vLLM's top-5 rule. Every architecture fixture under the test
 * resources' fixtures/ is held to them (quant-* formats: {@link QuantizedParityTest}).
 */
class ParityTest {
    static final Backend CPU = CpuBackend.create();

    @AfterAll
    static void close() {
        CPU.close();
    }

    @ParameterizedTest
    @MethodSource("dev.jvllm.models.ModelParity#denseFixtures")
    void logitsAndGreedyMatchTransformers(String name) throws Exception {
        ModelParity.assertLogitsAndGreedy(name, CPU, 1e-4);
    }

    /**
     * BF16 weights and activations meet vLLM's rule against transformers' f32 greedy output: equal
     * tokens, or at the first difference each side's token is in the other's top-5 (the f32 side's
     * logits there come from our f32 run, which matches transformers per the test above).
     */
    @ParameterizedTest
    @MethodSource("dev.jvllm.models.ModelParity#bf16Fixtures")
    void bf16MeetsTheTopFiveRule(String name) throws Exception {
        ModelParity.assertBf16TopFive(name, CPU, CPU);
    }
}
