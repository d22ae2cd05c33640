package dev.jvllm.engine.core;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.api.DType;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine over CUDA tensor-parallel ranks ({@code --backend cuda --tensor-parallel-size 2}, through
 * {@link ModelRanks}): random greedy workloads, batched by the scheduler with chunked prefill, give
 * every prompt the continuation one CUDA rank gives it alone; nothing leaks. Skipped without a usable
 * GPU, and for a fixture whose ops the backend does not run yet (naming the op).
 */
class CudaTensorParallelEngineTest {
    private static Backend cuda;

    @BeforeAll
    static void open() {
        BackendProvider p = Backends.byName("cuda");
        BackendProvider.Probe probe = p.probe();
        Assumptions.assumeTrue(probe.available(), () -> "no usable GPU: " + probe.reason());
        cuda = p.create(BackendOptions.defaults());
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "mixtral", "jamba"})
    void twoRanksOnTheGpuGiveEachPromptItsSingleRankContinuation(String arch) throws IOException {
        EngineOptions o = EngineOptions.defaults().withBackend("cuda").withDtype("f32").withTensorParallelSize(2)
                .withMaxModelLen(64).withMaxNumBatchedTokens(24).withMaxNumSeqs(3);
        try (CausalLM model = ModelLoader.load(EngineFixtures.dir(arch), cuda, ParallelConfig.single(), DType.F32, null);
             EngineCore core = EngineCore.load(EngineFixtures.dir(arch), o)) {
            EngineCoreTest.Workload work = EngineCoreTest.Workload.random(new Random(arch.hashCode()), 6, 40, 10);
            work.checkAgainstAlone(arch + " over 2 cuda ranks", core, (prompt, n) -> {
                try (SimpleRunner r = new SimpleRunner(model, prompt.length + n)) {
                    return r.greedy(prompt, n);
                }
            });
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("cuda cannot run " + arch + " yet: " + e.getMessage());
        }
    }
}
