package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine on the CUDA backend: random workloads of greedy requests, batched by the scheduler
 * under several token budgets and batch sizes (chunked prefill, decodes mixed with prefills), give
 * every prompt the continuation the single-sequence runner gives it alone on the same GPU; nothing
 * leaks; and likewise over two tensor-parallel ranks. Greedy batches use only the Argmax sampling op. Skipped without a usable GPU (with the
 * provider's reason), and for a fixture whose ops the backend does not run yet (naming the op).
 */
class CudaEngineTest {
    private static Backend cuda;

    @BeforeAll
    static void open() {
        cuda = EngineFixtures.cudaOrSkip();
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen3", "gemma2"})
    void promptsBatchedOnTheGpuEqualEachRunAloneThere(String arch) {
        try (CausalLM model = ModelLoader.load(EngineFixtures.dir(arch), cuda, ParallelConfig.single(), DType.F32,
                null)) {
            int[][] budgetAndSeqs = {{2048, 256}, {24, 3}, {7, 2}};
            for (int w = 0; w < budgetAndSeqs.length; w++) {
                EngineCoreTest.Workload work = EngineCoreTest.Workload.random(new Random(31 * w + arch.hashCode()), 6,
                        40, 10);
                EngineOptions o = EngineOptions.defaults().withMaxModelLen(64)
                        .withMaxNumBatchedTokens(budgetAndSeqs[w][0]).withMaxNumSeqs(budgetAndSeqs[w][1]);
                try (EngineCore core = EngineCore.create(model, null, List.of(), o)) {
                    work.checkAgainstAlone(arch + " on cuda, budget " + budgetAndSeqs[w][0] + " tokens / "
                            + budgetAndSeqs[w][1] + " seqs", core, (prompt, n) -> alone(model, prompt, n));
                } catch (UnsupportedOperationException e) {
                    Assumptions.abort("cuda cannot run " + arch + " yet: " + e.getMessage());
                }
            }
        }
    }

    /**
     * Async scheduling on the GPU, where decode steps replay captured graphs and their input ids are
     * copied on the device from the tokens in flight: every completion of a random mix of greedy and
     * sampled requests (EOS and stop ids, min_tokens, logprobs, late arrivals) equals the synchronous
     * engine's on the same GPU.
     */
    @org.junit.jupiter.api.Test
    void asyncScheduledDecodesGiveTheSynchronousOutputs() {
        try (CausalLM model = ModelLoader.load(EngineFixtures.dir("llama"), cuda, ParallelConfig.single(), DType.F32,
                null)) {
            long[] chained = {0};
            for (int seed = 0; seed < 4; seed++) {
                Random r = new Random(seed);
                List<AsyncSchedulingTest.Req> reqs = new java.util.ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    reqs.add(new AsyncSchedulingTest.Req("r" + i, EngineFixtures.randomPrompt(r, 1 + r.nextInt(30)),
                            AsyncSchedulingTest.randomParams(r, 1 + r.nextInt(24)), i < 3 ? 0 : r.nextInt(12)));
                }
                reqs.sort(java.util.Comparator.comparingInt(AsyncSchedulingTest.Req::arrival));
                int eos = 3 + r.nextInt(380);
                EngineOptions o = EngineOptions.defaults().withMaxModelLen(64).withMaxNumSeqs(1 + seed);
                java.util.function.Function<EngineOptions, EngineCore> make = opts -> EngineCore.create(model, null,
                        List.of(eos), opts);
                var sync = AsyncSchedulingTest.run(make, o, reqs, false, new long[1]);
                var async = AsyncSchedulingTest.run(make, o, reqs, true, chained);
                org.junit.jupiter.api.Assertions.assertEquals(sync, async, "seed " + seed);
            }
            assertTrue(chained[0] > 0, "no step was launched ahead of the one in flight");
        }
    }

    /**
     * The engine reports the device memory the model holds, and it is the checkpoint as stored: a
     * dense f32 checkpoint loaded in f32 and quantized checkpoints (packed int4, fp8) take about their
     * files' bytes on the GPU (plus the rotary table and the fused q/k/v and gate/up copies that
     * replace their shards), not a dequantized copy.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "quant-gptq", "quant-awq", "quant-fp8-block", "quant-ct-w8a16"})
    void theModelsDeviceMemoryIsTheCheckpointAsStored(String arch) throws IOException {
        long file = 0;
        try (var files = java.nio.file.Files.list(EngineFixtures.dir(arch))) {
            for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) files
                    .filter(f -> f.toString().endsWith(".safetensors"))::iterator) {
                file += java.nio.file.Files.size(f);
            }
        }
        long before = cuda.deviceMemory().inUse();
        try (CausalLM model = ModelLoader.load(EngineFixtures.dir(arch), cuda, ParallelConfig.single(), DType.F32,
                null); EngineCore core = EngineCore.create(model, null, List.of(), EngineOptions.defaults()
                        .withMaxModelLen(64))) {
            long bytes = core.stats().modelDeviceBytes() - before;
            assertTrue(bytes > 0.5 * file && bytes < 1.25 * file + (1 << 20), arch + ": the model holds " + bytes
                    + " bytes on the GPU for " + file + " bytes of safetensors");
            assertTrue(core.stats().deviceMemory().peak() >= core.stats().modelDeviceBytes());
        }
    }

    /**
     * The engine over two CUDA tensor-parallel ranks ({@code --backend cuda --tensor-parallel-size 2},
     * through {@link ModelRanks}; on a one-GPU machine both share it), chunked prefill included, gives
     * every prompt the continuation one CUDA rank gives it alone: dense, MoE and hybrid Mamba + MoE.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "mixtral", "jamba"})
    void twoTensorParallelRanksGiveEachPromptItsSingleRankContinuation(String arch) throws IOException {
        EngineOptions o = EngineOptions.defaults().withBackend("cuda").withDtype("f32").withTensorParallelSize(2)
                .withMaxModelLen(64).withMaxNumBatchedTokens(24).withMaxNumSeqs(3);
        try (CausalLM model = ModelLoader.load(EngineFixtures.dir(arch), cuda, ParallelConfig.single(), DType.F32, null);
             EngineCore core = EngineCore.load(EngineFixtures.dir(arch), o)) {
            EngineCoreTest.Workload work = EngineCoreTest.Workload.random(new Random(arch.hashCode()), 6, 40, 10);
            work.checkAgainstAlone(arch + " over 2 cuda ranks", core, (prompt, n) -> alone(model, prompt, n));
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("cuda cannot run " + arch + " yet: " + e.getMessage());
        }
    }

    private static int[] alone(CausalLM model, int[] prompt, int n) {
        try (SimpleRunner r = new SimpleRunner(model, prompt.length + n)) {
            return r.greedy(prompt, n);
        }
    }
}
