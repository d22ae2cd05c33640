package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Tolerance;
import java.util.Locale;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Shared by the specs of the data, elementwise, norm and rotary ops: generators, labels, strided
 * inputs and the tolerances, each justified once here.
 */
final class CoreOpsCases {
    private CoreOpsCases() {
    }

    /** Activation dtypes. */
    static Gen<DType> floats() {
        return Gens.oneOf(DType.F32, DType.BF16, DType.F16);
    }

    /** Token counts: 1 (decode) and sizes around vector widths and pool grains. */
    static Gen<Integer> tokens(int max) {
        return Gens.size(1, max, 1, 1, 2, 3, 7, 16, 17, 33);
    }

    /** Last dimensions: vector widths ±1, primes, 768/769. */
    static Gen<Integer> widths(int max) {
        return Gens.size(1, max, Gens.WIDTHS);
    }

    /** {@code bits} independent flag bits packed in an int (shrinking toward 0 = all off). */
    static Gen<Integer> flags(int bits) {
        return SourceDSL.integers().between(0, (1 << bits) - 1);
    }

    static boolean bit(int flags, int i) {
        return (flags >> i & 1) != 0;
    }

    static String dt(DType t) {
        return t == DType.F8_E4M3 ? "fp8" : t.name().toLowerCase(Locale.ROOT);
    }

    /** "bf16", or "f32→bf16" when they differ. */
    static String pair(DType from, DType to) {
        return from == to ? dt(from) : dt(from) + "→" + dt(to);
    }

    /**
     * A [rows, cols] input in [lo, hi); when {@code strided}, columns [1, 1 + cols) of a
     * [rows, cols + 4] input, so rows start unaligned and the row stride is not the width.
     */
    static Tensor input(CaseBuilder b, DType dt, double lo, double hi, int rows, int cols, boolean strided) {
        return strided ? b.input(dt, lo, hi, rows, cols + 4).narrowLast(1, cols) : b.input(dt, lo, hi, rows, cols);
    }

    /** The coarsest of these float dtypes (bf16 &gt; f16 &gt; f32). */
    static DType coarsest(DType... ts) {
        DType c = DType.F32;
        for (DType t : ts) {
            if (t == DType.BF16 || t == DType.F16 && c == DType.F32) {
                c = t;
            }
        }
        return c;
    }

    /**
     * Elementwise results of one f32 expression with transcendentals (activations, rotary),
     * rounded once to {@code out}. The f32 values may differ by a few tens of ulp between
     * implementations (exp/tanh/erf approximations, fma or not; our SIMD form is within 12 ulp of
     * the f64 scalar form): rtol 4e-6 ≈ 32 f32 ulp, atol 1e-6 for results near 0 (gelu of very
     * negative x, a·cos − b·sin cancelling). A narrower output may then round the other way: one
     * ulp of its own, 2^-7 (bf16) or 2^-10 (f16) relative.
     */
    static Tolerance elementwise(DType out) {
        double ulp = switch (out) {
            case BF16 -> 0x1p-7;
            case F16 -> 0x1p-10;
            default -> 0;
        };
        return Tolerance.close(1e-6, 4e-6 + ulp);
    }

    /**
     * One IEEE f32 operation on exactly widened inputs, rounded once (binary, scale, relu, the
     * residual sum): the contract fixes every bit, so no difference is allowed (±0 aside).
     */
    static final Tolerance EXACT_F32_OP = Tolerance.close(0, 0);

    /**
     * Norms (a row reduction, then a per-element scale), by the coarsest dtype a value is rounded
     * to. Between f32 and f64 accumulation the scale differs by ~1e-7 relative, so ~5e-5 of bf16
     * roundings may flip one ulp (NMSE ~1e-9): bf16 allows 1e-7, which still catches a skipped
     * rounding to bf16 (NMSE ~1.3e-6); f16 allows 5e-9 (a skipped f16 rounding is ~2e-8); f32
     * allows 1e-10 (f32 vs f64 sums give ~1e-13).
     */
    static Tolerance norm(DType coarsest) {
        return Tolerance.nmse(switch (coarsest) {
            case BF16 -> 1e-7;
            case F16 -> 5e-9;
            default -> 1e-10;
        });
    }
}
