package dev.jvllm.models;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.cpu.CpuProvider;
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
        BackendOptions oneThread = BackendOptions.defaults().withThreads(1);
        try (CpuBackend cpu = CpuBackend.create(oneThread)) {
            ModelParity.assertShardedEqualsSingle(name, cpu, new CpuProvider(), oneThread, new int[] {2, 4}, 1e-5);
        }
    }
}
