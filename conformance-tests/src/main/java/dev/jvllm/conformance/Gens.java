package dev.jvllm.conformance;

import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Generators of sizes biased toward what breaks kernels. Each picks either an interesting value
 * from a list (1, primes, vector widths ±1, block sizes ±1, 768/769-style pairs) or a uniform
 * size in a range; both shrink toward small values.
 */
public final class Gens {
    private Gens() {
    }

    /** Interesting widths for a last dimension (vector width 8/16 ± 1, primes, large pairs). */
    public static final int[] WIDTHS = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 257, 768, 769};

    /** Head sizes models use. */
    public static final int[] HEAD_SIZES = {64, 80, 96, 128, 256};

    /**
     * A size from {@code interesting} or uniform in [lo, hi]. Interesting values outside [lo, hi]
     * are dropped silently: mix in a separate generator for sizes beyond the range.
     */
    public static Gen<Integer> size(int lo, int hi, int... interesting) {
        int[] picks = java.util.Arrays.stream(interesting).filter(v -> v >= lo && v <= hi).toArray();
        Gen<Integer> uniform = SourceDSL.integers().between(lo, hi);
        if (picks.length == 0) {
            return uniform;
        }
        Gen<Integer> pick = SourceDSL.integers().between(0, picks.length - 1).map(i -> picks[i]);
        return pick.mix(uniform, 50);
    }

    /** One of these values; shrinks toward the first. */
    @SafeVarargs
    public static <T> Gen<T> oneOf(T... values) {
        return SourceDSL.integers().between(0, values.length - 1).map(i -> values[i]);
    }

    /** true/false, shrinking toward false. */
    public static Gen<Boolean> bool() {
        return SourceDSL.booleans().all();
    }
}
