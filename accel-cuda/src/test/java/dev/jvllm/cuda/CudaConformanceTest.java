package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.conformance.BackendConformanceTest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/**
 * The conformance suite against the CUDA backend (every op; unsupported ops are reported, not
 * failed). Skips, with the provider's reason, where there is no usable GPU. On a GPU machine:
 * {@code bash tools/gpu/cuda-conformance.sh} (or the JUnit console with
 * {@code -Djvllm.conformance.report=FILE}).
 */
class CudaConformanceTest extends BackendConformanceTest {

    @BeforeAll
    void requireGpu() {
        BackendProvider.Probe p = new CudaProvider().probe();
        Assumptions.assumeTrue(p.available(), () -> "no usable CUDA device: " + p.reason());
    }

    @Override
    protected Backend candidate() {
        return new CudaProvider().create(BackendOptions.defaults());
    }
}
