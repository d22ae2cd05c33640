package dev.jvllm.models;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.models.loader.ModelConfig;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every fixture on the CUDA backend, held to the CPU's rules ({@link ModelParity}): f32 activations
 * meet the f32 parity rule (1e-4 of the logit scale, the quant-* formats their own tolerance from
 * {@link ModelParity#f32Tolerance}; greedy equal), bf16 weights and activations meet vLLM's
 * top-5 rule (the f32 side from the CPU reference), on the fixtures {@link ModelParity#bf16Fixtures} names.
 *
 * <p>Tensor parallelism: the sharded model over ranks of {@code CudaProvider.createGroup} against one
 * rank on the GPU (on a one-GPU machine every rank shares it).
 *
 * <p>Without a usable GPU every test is skipped with the provider's reason. A fixture whose ops (or
 * weight formats) the backend does not run yet is skipped too, with the op the backend refused in
 * the message — never passed.
 */
class CudaParityTest {
    private static Backend cuda;
    private static Backend cpu;

    @BeforeAll
    static void open() {
        BackendProvider p = Backends.byName("cuda");
        BackendProvider.Probe probe = p.probe();
        Assumptions.assumeTrue(probe.available(), () -> "no usable GPU: " + probe.reason());
        cuda = p.create(BackendOptions.defaults());
        cpu = CpuBackend.create();
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }

    @ParameterizedTest
    @MethodSource("dev.jvllm.models.ModelParity#fixtures")
    void f32MeetsTheCpuParityRule(String name) throws Throwable {
        skipWhereUnsupported(name, () -> ModelParity.assertLogitsAndGreedy(name, cuda, ModelParity.f32Tolerance(name)));
    }

    @ParameterizedTest
    @MethodSource("dev.jvllm.models.ModelParity#bf16Fixtures")
    void bf16MeetsTheTopFiveRule(String name) throws Throwable {
        skipWhereUnsupported(name, () -> ModelParity.assertBf16TopFive(name, cpu, cuda));
    }

    /**
     * tp = 2 and, where the query heads divide, tp = 4 (each of the 2 KV heads on two ranks) against
     * tp = 1 on the GPU at the f32 rule's tolerance ({@link ModelParity#assertShardedEqualsSingle}): dense,
     * sliding window (gemma2), MHA (phi3), MoE (mixtral), Mamba + MoE (jamba), GPTQ and block fp8. The
     * quantized fixtures' row-parallel K must split on group boundaries: 2 ranks, as on the CPU. No
     * fixture has a head count that 3 divides.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3", "gemma2", "phi3", "mixtral", "jamba", "quant-gptq", "quant-fp8-block"})
    void tensorParallelRanksEqualOneRank(String name) throws Throwable {
        int heads = ModelConfig.load(ModelParity.fixture(name)).numAttentionHeads();
        int[] sizes = IntStream.of(2, 4).filter(tp -> heads % tp == 0 && (tp == 2 || !name.startsWith("quant-")))
                .toArray();
        skipWhereUnsupported(name, () -> ModelParity.assertShardedEqualsSingle(name, cuda, Backends.byName("cuda"),
                BackendOptions.defaults(), sizes, ModelParity.f32Tolerance(name)));
    }

    /** Runs the check; an op the backend refuses (UnsupportedOperationException anywhere in the causes) skips it. */
    private static void skipWhereUnsupported(String name, Executable check) throws Throwable {
        try {
            check.execute();
        } catch (Throwable t) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                if (c instanceof UnsupportedOperationException u) {
                    Assumptions.abort("cuda cannot run " + name + " yet: " + u.getMessage());
                }
            }
            throw t;
        }
    }
}
