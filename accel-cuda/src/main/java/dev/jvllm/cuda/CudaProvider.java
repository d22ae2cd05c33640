package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import java.util.List;

/**
 * The CUDA backend's provider. Probing loads the driver library and asks it about devices; it
 * never creates a context and never throws. Unavailable, with the reason, when there is no driver,
 * no device, a device older than sm_80, a driver older than CUDA 13.0, or when this build carries
 * no kernels (accel-cuda was built without nvcc).
 */
public final class CudaProvider implements BackendProvider {
    /** Oldest compute capability the shipped kernels target (sm_80). */
    static final int MIN_COMPUTE_CAPABILITY = 80;
    /** Oldest driver API version able to load kernels built by CUDA 13.0 (CUDA_VERSION encoding). */
    static final int MIN_DRIVER_VERSION = 13000;

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public Probe probe() {
        return CudaProbe.probe(MIN_COMPUTE_CAPABILITY, MIN_DRIVER_VERSION, KernelModule.shipped());
    }

    @Override
    public Backend create(BackendOptions options) {
        requireAvailable();
        return new CudaBackend(options.device());
    }

    /**
     * {@code worldSize} connected backends ({@link CudaGroup}): rank r on device
     * {@code (options.device() + r) mod} the device count, so a machine with fewer GPUs than ranks
     * (one, say) holds several ranks per device. Collectives sum in rank order, as the
     * {@link dev.jvllm.api.Communicator} contract says, with peer copies between devices (no NCCL).
     */
    @Override
    public List<Backend> createGroup(int worldSize, BackendOptions options) {
        if (worldSize < 1) {
            throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
        }
        requireAvailable();
        return CudaGroup.create(worldSize, options.device());
    }

    private void requireAvailable() {
        Probe p = probe();
        if (!p.available()) {
            throw new IllegalStateException("the cuda backend cannot be created: " + p.reason());
        }
    }
}
