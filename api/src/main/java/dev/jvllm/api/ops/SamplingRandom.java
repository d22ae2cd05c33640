package dev.jvllm.api.ops;

/**
 * The counter-based random numbers every backend uses for {@link Sample}, so that one (seed,
 * offset) pair draws the same token everywhere. Pure 64-bit integer arithmetic (SplitMix64's
 * finalizer), easy to reproduce in a kernel.
 */
public final class SamplingRandom {
    private SamplingRandom() {
    }

    /** A uniform double in [0, 1) for this seed and offset (e.g. the output position). */
    public static double uniform(long seed, long offset) {
        long z = seed + (offset + 1) * 0x9E3779B97F4A7C15L;
        z = mix(z);
        z = mix(z ^ seed);
        return (z >>> 11) * 0x1.0p-53;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
