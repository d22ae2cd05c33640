package dev.jvllm.api;

/**
 * The {@link java.util.ServiceLoader} entry point of a backend.
 *
 * <p>A backend jar lists its provider in
 * {@code META-INF/services/dev.jvllm.api.BackendProvider}. {@link Backends} discovers every
 * provider on the class path, probes it, and creates the chosen one.
 */
public interface BackendProvider {

    /** Short unique name used by {@code --backend NAME} and {@code -Djvllm.backend=NAME} ("cpu", "cuda"). */
    String name();

    /** Higher wins in {@link Backends#best()} among available providers. The CPU reference is 0. */
    int priority();

    /**
     * Whether this backend can run on this machine, and if not, why ("libcuda.so.1 not found",
     * "no CUDA device", "compute capability 7.0 &lt; 8.0").
     *
     * <p>Must be cheap, must never throw, and must not create a device context as a side effect.
     */
    Probe probe();

    /**
     * Creates a backend instance. Called only after {@link #probe()} reported available.
     *
     * @throws IllegalStateException when the device cannot be opened after all
     */
    Backend create(BackendOptions options);

    /**
     * Creates a tensor-parallel group of {@code worldSize} backends, rank i at index i, whose
     * {@link Backend#communicator()}s are connected (in-process threads on the CPU; on CUDA, ranks
     * on one or more devices exchanging through peer copies).
     *
     * @implSpec The default supports only {@code worldSize == 1}.
     */
    default java.util.List<Backend> createGroup(int worldSize, BackendOptions options) {
        if (worldSize != 1) {
            throw new UnsupportedOperationException("backend " + name() + " has no multi-rank groups");
        }
        return java.util.List.of(create(options));
    }

    /** The result of {@link BackendProvider#probe()}. */
    record Probe(boolean available, String reason) {
        public Probe {
            if (reason == null) {
                throw new IllegalArgumentException("reason must not be null (use \"\" when available)");
            }
        }

        public static Probe ok(String description) {
            return new Probe(true, description);
        }

        public static Probe unavailable(String reason) {
            return new Probe(false, reason);
        }
    }
}
