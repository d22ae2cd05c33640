package dev.jvllm.models;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.api.DType;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import dev.jvllm.models.runtime.TensorParallelModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tensor parallelism on the CUDA backend ({@code CudaProvider.createGroup}; on a one-GPU machine
 * every rank shares the device): the logits of tp = 2 and, where the query heads divide, tp = 4 (each
 * of the 2 KV heads on two ranks) equal tp = 1 on the GPU within the f32 parity rule
 * ({@link ModelParity#f32Tolerance}: only the all-reduces' summation order differs), every rank holds
 * the same logits bit for bit, and greedy continuations are identical. Dense, sliding-window
 * (gemma2), MHA (phi3), MoE (mixtral), hybrid Mamba + MoE (jamba) and quantized (GPTQ int4, block
 * fp8) fixtures. No fixture has a head count that 3 divides. Skipped without a usable GPU, and for a
 * fixture whose ops the backend does not run yet (naming the op).
 */
class CudaTensorParallelTest {
    private static final int[] PROMPT = {5, 17, 3, 99, 250, 7, 42, 11, 200, 8, 1, 64, 65, 66, 67, 100, 201, 202, 9, 10};
    private static BackendProvider cuda;
    private static Backend single;

    @BeforeAll
    static void open() {
        cuda = Backends.byName("cuda");
        BackendProvider.Probe probe = cuda.probe();
        Assumptions.assumeTrue(probe.available(), () -> "no usable GPU: " + probe.reason());
        single = cuda.create(BackendOptions.defaults());
    }

    @AfterAll
    static void close() {
        if (single != null) {
            single.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3", "gemma2", "phi3", "mixtral", "jamba", "quant-gptq", "quant-fp8-block"})
    void shardedLogitsOnTheGpuEqualOneRank(String name) throws IOException {
        Path dir = ModelParity.fixture(name);
        float[] want;
        int[] wantGreedy;
        try (CausalLM m = ModelLoader.load(dir, single, ParallelConfig.single(), DType.F32, null);
             SimpleRunner r = new SimpleRunner(m, 64)) {
            want = r.promptLogits(PROMPT);
            wantGreedy = r.greedy(PROMPT, 8);
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("cuda cannot run " + name + " yet: " + e.getMessage());
            return;
        }
        int heads = ModelConfig.load(dir).numAttentionHeads();
        // the quantized fixtures' row-parallel K must split on group boundaries: 2 ranks, as on the CPU
        int[] sizes = IntStream.of(2, 4).filter(tp -> heads % tp == 0 && (tp == 2 || !name.startsWith("quant-")))
                .toArray();
        for (int tp : sizes) {
            try (TensorParallelModel tpm = TensorParallelModel.load(dir, cuda, tp, BackendOptions.defaults(), DType.F32,
                    null)) {
                List<float[]> logits = tpm.run(m -> {
                    try (SimpleRunner r = new SimpleRunner(m, 64)) {
                        return r.promptLogits(PROMPT);
                    }
                });
                List<int[]> greedy = tpm.run(m -> {
                    try (SimpleRunner r = new SimpleRunner(m, 64)) {
                        return r.greedy(PROMPT, 8);
                    }
                });
                for (int rank = 0; rank < tp; rank++) {
                    assertArrayEquals(logits.get(0), logits.get(rank), 0f, name + " tp=" + tp + ": ranks disagree");
                    assertArrayEquals(wantGreedy, greedy.get(rank), name + " tp=" + tp + " rank " + rank + " greedy");
                }
                ModelParity.assertClose(want, logits.get(0), ModelParity.f32Tolerance(name), PROMPT.length,
                        name + " tp=" + tp + " on cuda");
            }
        }
    }
}
