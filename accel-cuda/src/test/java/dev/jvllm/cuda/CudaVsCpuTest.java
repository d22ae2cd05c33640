package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * Base of the GPU tests that compare CUDA kernels with the CPU reference at sizes the conformance
 * cases do not reach: one CUDA and one CPU backend per class, and the whole class skipped (with the
 * provider's reason) where no usable device exists.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CudaVsCpuTest {
    protected CudaBackend cuda;
    protected Backend cpu;

    @BeforeAll
    void openBackends() {
        BackendProvider.Probe p = new CudaProvider().probe();
        Assumptions.assumeTrue(p.available(), () -> "no usable CUDA device: " + p.reason());
        cuda = (CudaBackend) new CudaProvider().create(BackendOptions.defaults());
        cpu = CpuBackend.create();
    }

    @AfterAll
    void closeBackends() {
        if (cuda != null) {
            cuda.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }
}
