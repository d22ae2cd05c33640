package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class CudaProviderTest {

    @Test
    void probeNeverThrowsAndGivesAReason() {
        BackendProvider.Probe p = new CudaProvider().probe();
        assertNotNull(p.reason());
        assertFalse(p.reason().isBlank(), "the probe must say what it found");
    }

    @Test
    void withoutDriverOrKernelsTheProbeSaysWhy() {
        BackendProvider.Probe p = new CudaProvider().probe();
        Assumptions.assumeFalse(p.available(), "a usable GPU is present");
        assertTrue(p.reason().contains("libcuda") || p.reason().contains("device") || p.reason().contains("kernels")
                || p.reason().contains("compute capability") || p.reason().contains("driver"), p.reason());
    }

    @Test
    void discoveredThroughServiceLoader() {
        assertTrue(Backends.providers().stream().anyMatch(x -> x.name().equals("cuda")));
    }

    @Test
    void createFailsWithTheProbeReason() {
        Assumptions.assumeFalse(new CudaProvider().probe().available(), "a usable GPU is present");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new CudaProvider().create(BackendOptions.defaults()));
        assertTrue(e.getMessage().contains(new CudaProvider().probe().reason()), e.getMessage());
    }
}
