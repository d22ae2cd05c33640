package dev.jvllm.cpu;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import java.util.List;

/** The CPU reference backend: always available. */
public final class CpuProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Probe probe() {
        return Probe.ok(CpuContext.describeMachine());
    }

    @Override
    public Backend create(BackendOptions options) {
        return CpuBackend.create(options);
    }

    @Override
    public List<Backend> createGroup(int worldSize, BackendOptions options) {
        return CpuBackend.createGroup(worldSize, options);
    }
}
