package dev.jvllm.models;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.cpu.CpuProvider;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import dev.jvllm.models.runtime.TensorParallelModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tensor parallelism on in-process CPU ranks: tp=2 and tp=4 logits equal tp=1 within f32
 * tolerance (the all-reduces sum in another order), and greedy continuations are identical. The
 * fixtures have 4 query heads and 2 KV heads (phi3: 4 and 4), so tp=4 exercises KV-head
 * replication (each KV head on two ranks).
 */
class TensorParallelTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama_tied_mha_linear", "mistral", "qwen2", "qwen3", "phi3", "gemma2", "opt",
            "gpt2", "mamba", "mixtral", "jamba"})
    void shardedLogitsEqualSingleRank(String name) {
        Path dir = ModelParity.fixture(name);
        int[] prompt = {5, 17, 3, 99, 250, 7, 42, 11, 300, 8, 1, 64, 65, 66, 67, 200, 201, 202, 9, 10};
        float[] single;
        int[] singleGreedy;
        try (CpuBackend cpu = CpuBackend.create(BackendOptions.defaults().withThreads(1));
             CausalLM m = ModelLoader.load(dir, cpu, ParallelConfig.single(), DType.F32, null);
             SimpleRunner r = new SimpleRunner(m, 64)) {
            single = r.promptLogits(prompt);
            singleGreedy = r.greedy(prompt, 8);
        }
        double scale = 0;
        for (float v : single) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int tp : new int[] {2, 4}) {
            try (TensorParallelModel tpm = TensorParallelModel.load(dir, new CpuProvider(), tp,
                    BackendOptions.defaults().withThreads(1), DType.F32, null)) {
                List<float[]> logits = tpm.run(m -> {
                    try (SimpleRunner r = new SimpleRunner(m, 64)) {
                        return r.promptLogits(prompt);
                    }
                });
                List<int[]> greedy = tpm.run(m -> {
                    try (SimpleRunner r = new SimpleRunner(m, 64)) {
                        return r.greedy(prompt, 8);
                    }
                });
                for (int rank = 0; rank < tp; rank++) {
                    float[] got = logits.get(rank);
                    assertArrayEquals(logits.get(0), got, 0f, name + " tp=" + tp + ": ranks disagree");
                    for (int i = 0; i < single.length; i++) {
                        assertEquals(single[i], got[i], 1e-5 * scale, name + " tp=" + tp + " logit " + i);
                    }
                    assertArrayEquals(singleGreedy, greedy.get(rank), name + " tp=" + tp + " greedy");
                }
            }
        }
    }
}
