package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.Tolerance;
import dev.jvllm.cpu.CpuBackend;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Base of the GPU tests that compare CUDA kernels with the CPU reference at sizes the conformance
 * cases do not reach: one CUDA and one CPU backend per class, and the whole class skipped (with the
 * provider's reason) where no usable device exists.
 */
abstract class CudaVsCpuTest extends CudaDeviceTest {
    protected Backend cpu;

    @BeforeAll
    void openCpu() {
        cpu = CpuBackend.create();
    }

    @AfterAll
    void closeCpu() {
        if (cpu != null) {
            cpu.close();
        }
    }

    /**
     * Builds the same case on both backends (same seed, same data), runs it, compares every output;
     * returns the comparison's failure message, or null.
     */
    protected String compare(long seed, Function<CaseBuilder, Instance> make) {
        try (CaseBuilder rb = new CaseBuilder(cpu, seed); Instance ref = make.apply(rb);
                CaseBuilder cb = new CaseBuilder(cuda, seed); Instance cand = make.apply(cb)) {
            assertTrue(cuda.supports(cand.args()), cand.args().kind().id());
            cpu.run(ref.args());
            cuda.run(cand.args());
            cuda.synchronize();
            return Comparison.compareOutputs(ref, cand);
        }
    }

    /** The state ops' output tolerance: f32 accumulation in both, one rounding to a 16-bit dtype. */
    protected static Tolerance outTolerance(DType dt) {
        return Tolerance.nmse(dt == DType.F32 ? 1e-9 : 1e-6);
    }
}
