package dev.jvllm.cuda;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * A test class with one CUDA backend for all its tests ({@link #cuda}, on device 0), skipped with the
 * provider's reason where no device is usable. Subclasses add their own set-up in {@code @BeforeAll}
 * methods of other names (JUnit runs this one first).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CudaDeviceTest {
    protected CudaBackend cuda;

    @BeforeAll
    void openCuda() {
        BackendProvider.Probe p = new CudaProvider().probe();
        Assumptions.assumeTrue(p.available(), () -> "no usable CUDA device: " + p.reason());
        cuda = (CudaBackend) new CudaProvider().create(BackendOptions.defaults());
    }

    @AfterAll
    void closeCuda() {
        if (cuda != null) {
            cuda.close();
        }
    }
}
