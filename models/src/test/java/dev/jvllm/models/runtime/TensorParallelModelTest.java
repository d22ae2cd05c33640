package dev.jvllm.models.runtime;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuProvider;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class TensorParallelModelTest {
    /**
     * An interrupted caller still gets every rank's result (a step left half-run would fail the
     * engine that drives it: LLM lets a generate caller step it) and keeps its interrupt status.
     */
    @Test
    void runWaitsForEveryRankThroughAnInterruptAndKeepsIt() {
        try (TensorParallelModel tpm = TensorParallelModel.load(Path.of("src/test/resources/fixtures/llama"), new CpuProvider(), 2,
                BackendOptions.defaults().withThreads(1), DType.F32, null)) {
            Thread.currentThread().interrupt();
            List<Integer> out;
            try {
                out = tpm.run(m -> {
                    try {
                        Thread.sleep(50); // still running when the caller starts to wait
                    } catch (InterruptedException e) {
                        throw new IllegalStateException("a rank thread was interrupted", e);
                    }
                    return 7;
                });
            } finally {
                assertTrue(Thread.interrupted(), "the caller's interrupt is kept (and cleared here)");
            }
            assertEquals(List.of(7, 7), out);
        }
    }
}
