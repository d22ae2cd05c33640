package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import org.junit.jupiter.api.Test;

class CudaProviderTest {

    @Test
    void probeNeverThrowsAndGivesAReason() {
        BackendProvider.Probe p = new CudaProvider().probe();
        assertNotNull(p.reason());
        assertFalse(p.reason().isBlank(), "the probe must say what it found");
        // the ops are not built yet: the provider must never claim availability
        assertFalse(p.available(), p.reason());
    }

    @Test
    void discoveredThroughServiceLoader() {
        assertTrue(Backends.providers().stream().anyMatch(x -> x.name().equals("cuda")));
    }

    @Test
    void createFailsWithTheProbeReason() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new CudaProvider().create(BackendOptions.defaults()));
        assertTrue(e.getMessage().contains(new CudaProvider().probe().reason()), e.getMessage());
    }
}
