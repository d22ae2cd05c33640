package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Decode steps replayed from CUDA graphs: over a script of padded batches, sequences finishing and
 * joining, and mixed steps in between, a replay's logits equal bit for bit those of the same padded
 * step run eagerly, and match the unpadded eager step's (other GEMM shapes and attention splits:
 * rounding only); a greedy step's graph, which ends in the argmax, gives the argmax of those logits;
 * the engine gives the same greedy tokens with graphs as with {@code enforceEager}.
 * Skipped without a usable GPU (with the provider's reason), and for a fixture whose ops the backend
 * does not run yet (naming the op).
 */
class CudaDecodeGraphsTest {
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
    @ValueSource(strings = {"llama", "qwen3", "gemma2", "mixtral", "mamba2", "jamba"})
    void replaysEqualThePaddedEagerStepBitForBit(String arch) {
        try (CausalLM model = ModelLoader.load(EngineFixtures.dir(arch), cuda, ParallelConfig.single(), DType.F32,
                null)) {
            RunnerScript script = RunnerScript.of(31 * arch.hashCode(), !model.context().stateLayers().isEmpty());
            try (ModelRunner graphs = RunnerScript.runner(model, DecodeGraphs.Mode.GRAPHS);
                    ModelRunner padded = RunnerScript.runner(model, DecodeGraphs.Mode.PADDED_EAGER)) {
                script.compare(padded, graphs, RunnerScript.identical());
                assertNull(graphs.graphsOffReason());
                assertEquals(4, graphs.capturedShapes(), "batch buckets 1, 2, 4 and 8");
            }
            try (ModelRunner graphs = RunnerScript.runner(model, DecodeGraphs.Mode.GRAPHS);
                    ModelRunner eager = RunnerScript.runner(model, DecodeGraphs.Mode.EAGER)) {
                script.compare(eager, graphs, RunnerScript.close(2e-4f));
            }
            try (ModelRunner padded = RunnerScript.runner(model, DecodeGraphs.Mode.PADDED_EAGER);
                    ModelRunner graphs = RunnerScript.runner(model, DecodeGraphs.Mode.GRAPHS)) {
                script.compareGreedy(padded, graphs); // the argmax inside the graph
                assertNull(graphs.graphsOffReason());
                assertEquals(4, graphs.capturedShapes(), "greedy shapes of batch buckets 1, 2, 4 and 8");
            }
            try (ModelRunner padded = RunnerScript.runner(model, DecodeGraphs.Mode.PADDED_EAGER);
                    ModelRunner graphs = RunnerScript.runner(model, DecodeGraphs.Mode.GRAPHS)) {
                int chained = script.compareChainedGreedy(padded, graphs); // ids from the step before, on the device
                assertTrue(chained >= 10, chained + " chained steps");
                // a replay's argmax wrote the next step's ids into its metadata: no copy between them
                assertTrue(graphs.graphs().idsInPlace() >= 4, graphs.graphs().idsInPlace() + " steps with ids in place");
            }
        } catch (UnsupportedOperationException e) {
            Assumptions.abort("cuda cannot run " + arch + " yet: " + e.getMessage());
        }
    }

    @Test
    void theEngineGivesTheSameGreedyTokensWithGraphsAsEagerly() {
        try (CausalLM model = ModelLoader.load(EngineFixtures.dir("llama"), cuda, ParallelConfig.single(), DType.F32,
                null)) {
            EngineOptions o = EngineOptions.defaults().withMaxModelLen(64).withMaxNumSeqs(6);
            Map<String, List<Integer>> eager = run(model, o.withEnforceEager(true));
            Map<String, List<Integer>> graphs = run(model, o);
            assertEquals(eager, graphs);
            assertTrue(eager.values().stream().mapToInt(List::size).sum() > 50);
        }
    }

    private static Map<String, List<Integer>> run(CausalLM model, EngineOptions o) {
        try (EngineCore core = EngineCore.create(model, null, List.of(), o)) {
            java.util.Random r = new java.util.Random(7);
            for (int i = 0; i < 9; i++) {
                core.addRequest("r" + i, EngineFixtures.randomPrompt(r, 3 + r.nextInt(20)),
                        SamplingParams.greedy(4 + r.nextInt(30)));
            }
            return EngineFixtures.drain(core);
        }
    }
}
