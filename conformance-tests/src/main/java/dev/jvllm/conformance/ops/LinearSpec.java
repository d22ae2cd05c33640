package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Conformance of {@link Linear} for every {@link LinearWeight} format: dense f32/bf16/f16; fp8
 * with per-tensor, per-channel and block scales, weight-only or with static / dynamic per-token
 * activation quantization, block scales also with per-token-group activations (groups of blockK
 * columns, as vLLM runs block checkpoints; x then holds a zero group, a group below vLLM's eps,
 * amax ties of opposite sign and near-ties of the e4m3 rounding at the saturation edge); int4 symmetric or with zero points, with and without act-order g_idx;
 * int8 per-channel. x and out F32/BF16/F16, bias on or off, x a strided view (columns of a wider
 * tensor) or not; out is always a guarded strided view.
 *
 * <p>Shapes: T from 1 (decode) to 129 (1..8, primes, 67, 129), K and N around vector widths
 * (15/16/17, 31/32/33, ...), 768/769 and small primes; T·K·N is capped so the scalar CPU form
 * runs a case in milliseconds. Data is biased positive (x and W mostly in [−0.5, 1]) so outputs
 * do not cancel to near zero, where a relative measure such as NMSE would magnify the legitimate
 * rounding differences of another summation order.
 *
 * <p>Tolerance (NMSE over the output, by out's dtype): both sides accumulate exact products in
 * f32, only the order differs. A sequential f32 sum of K terms is off by about
 * 2^-24·√K relative, NMSE ≈ 2^-48·K ≈ 3e-12 at K = 769; f32 out allows 1e-10. A narrow output
 * adds its own rounding, which may go the other way by one unit in the last place (2^-7 relative
 * for bf16, 2^-10 for f16) when the f32 values straddle a rounding boundary: even a single
 * flipped element of a one-element output stays within 1e-4 (bf16: 2^-14 = 6e-5) and 2e-6
 * (f16: 2^-20 = 1e-6). A wrong element, a dropped K term, a missing scale or bias, or a wrong
 * e4m3 rounding of the activations is orders of magnitude above these.
 *
 * <p>The rounding error of a dot product scales with Σ|x'·W|, not with the result, so NMSE
 * relative to the output alone would fail a legitimate summation order whenever a small output
 * (T·N of a few elements) happens to cancel. {@link #compare} therefore floors the output energy
 * at {@value #ENERGY_FLOOR}·T·N·K, the energy of a random-sign sum of these data (per-term
 * |x'·W| ≈ 0.1 ... 0.3): the tolerance above applies unchanged to every typical case and grows
 * only in proportion when the output is unusually small.
 */
public final class LinearSpec extends OpSpec<LinearSpec.Case> {

    /** The weight formats, with their activation mode for fp8. */
    public enum Format {
        F32("f32"), BF16("bf16"), F16("f16"),
        FP8_TENSOR("fp8-tensor"), FP8_CHANNEL("fp8-channel"), FP8_BLOCK("fp8-block"),
        FP8_TENSOR_STATIC("fp8-tensor-static"), FP8_CHANNEL_DYNAMIC("fp8-channel-dynamic"),
        FP8_BLOCK_DYNAMIC("fp8-block-dynamic"), FP8_BLOCK_DYNAMIC_GROUP("fp8-block-dynamic-group"),
        INT4_SYM("int4-sym"), INT4_ZP("int4-zp"), INT4_SYM_ACTORDER("int4-sym-actorder"),
        INT4_ZP_ACTORDER("int4-zp-actorder"),
        INT8("int8");

        private final String label;

        Format(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        boolean int4() {
            return name().startsWith("INT4");
        }

        boolean fp8() {
            return name().startsWith("FP8");
        }

        boolean block() {
            return this == FP8_BLOCK || this == FP8_BLOCK_DYNAMIC || this == FP8_BLOCK_DYNAMIC_GROUP;
        }
    }

    /**
     * One case. {@code group}: int4 group size, or the fp8 block edge (blockN = blockK = group);
     * unused by the other formats. {@code scaleType}: dtype of the int4 scales.
     */
    public record Case(int tokens, int k, int n, Format format, int group, DType x, DType out, DType scaleType,
            boolean bias, boolean strided) {
        /** Upper bound of T·K·N, so the scalar reference stays in milliseconds. */
        static final long MAX_MACS = 1L << 21;

        public Case {
            if (format.int4()) {
                k = Math.max(8, (k + 7) / 8 * 8); // int4 packs 8 columns per word
            }
            if (!format.int4() && !format.block()) {
                group = 0;
            }
            if (!format.int4()) {
                scaleType = DType.F32;
            }
            long macs = (long) tokens * k * n;
            if (macs > MAX_MACS) {
                n = (int) Math.max(1, MAX_MACS / ((long) tokens * k));
            }
        }
    }

    @Override
    public OpKind op() {
        return OpKind.LINEAR;
    }

    private static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 17, 31, 67, 129};
    private static final int[] FEATURES = {1, 2, 3, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129,
        257, 768, 769};

    @Override
    public Gen<Case> cases() {
        Gen<Integer> t = Gens.size(1, 129, TOKENS);
        Gen<Integer> k = Gens.size(1, 800, FEATURES);
        Gen<Integer> n = Gens.size(1, 800, FEATURES);
        Gen<Format> format = Gens.oneOf(Format.values());
        Gen<DType> floats = Gens.oneOf(DType.F32, DType.BF16, DType.F16);
        // group / block edge: 1, 3 and 16 split rows into many blocks, 32/64/128 are what checkpoints use
        Gen<Integer> group = Gens.oneOf(128, 32, 64, 16, 3, 1);
        Gen<Integer> flags = SourceDSL.integers().between(0, 3); // bit 0 bias, bit 1 strided x
        Gen<DType[]> dtypes = floats.zip(floats, floats, (a, b, c) -> new DType[] {a, b, c});
        Gen<int[]> sizes = t.zip(k, n, (a, b, c) -> new int[] {a, b, c});
        return sizes.zip(format, group, dtypes, flags, (s, f, g, d, fl) -> new Case(s[0], s[1], s[2], f,
                f.int4() ? Math.max(8, g / 8 * 8) : g, d[0], d[1], d[2], (fl & 1) != 0, (fl & 2) != 0));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(1, 769, 769, Format.BF16, 0, DType.BF16, DType.BF16, DType.F32, true, false), // a decode row
                new Case(67, 128, 129, Format.F32, 0, DType.F32, DType.F32, DType.F32, false, true), // prefill, strided x
                new Case(5, 768, 64, Format.INT4_ZP_ACTORDER, 128, DType.BF16, DType.F32, DType.F16, true, false),
                new Case(3, 300, 257, Format.FP8_BLOCK_DYNAMIC, 128, DType.F32, DType.BF16, DType.F32, false, false),
                // groups of 128 with a short last group (K = 300), and many groups of 16 on a strided x
                new Case(6, 300, 129, Format.FP8_BLOCK_DYNAMIC_GROUP, 128, DType.BF16, DType.F32, DType.F32, true, false),
                new Case(5, 256, 33, Format.FP8_BLOCK_DYNAMIC_GROUP, 16, DType.F32, DType.F32, DType.F32, false, true),
                new Case(129, 65, 17, Format.INT8, 0, DType.F16, DType.F16, DType.F32, true, true),
                new Case(2, 769, 3, Format.FP8_TENSOR_STATIC, 0, DType.F32, DType.F32, DType.F32, false, false),
                new Case(8, 16, 17, Format.INT4_SYM, 16, DType.F32, DType.F32, DType.BF16, true, true),
                new Case(1, 1, 1, Format.F16, 0, DType.F32, DType.F32, DType.F32, false, false));
    }

    @Override
    public String name(Case c) {
        String f = c.format().label() + (c.format().int4() ? "-g" + c.group() + "-s" + dt(c.scaleType())
                : c.format().block() ? "-b" + c.group() : "");
        return "linear[T=" + c.tokens() + ",K=" + c.k() + ",N=" + c.n() + "," + f + ",x=" + dt(c.x()) + ",out="
                + dt(c.out()) + (c.bias() ? ",bias" : "") + (c.strided() ? ",strided" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return c.format().label();
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int t = c.tokens(), k = c.k(), n = c.n();
        int width = c.strided() ? k + 5 : k;
        Tensor x = c.format() == Format.FP8_BLOCK_DYNAMIC_GROUP
                ? b.input(c.x(), groupEdgeActivations(b.uniform(t * width, -0.5, 1), t, width, k, c.group()), t, width)
                : b.input(c.x(), -0.5, 1, t, width);
        if (c.strided()) {
            x = x.narrowLast(2, k);
        }
        LinearWeight w = weight(c, b);
        Tensor bias = c.bias() ? b.input(DType.F32, 0, 2, n) : null;
        Tensor out = b.output(c.out(), t, n);
        return b.build(new Linear(x, w, bias, out), new Checked("out", out, tolerance(c.out()), null));
    }

    /**
     * x [T, width] (the first k columns are used) with the edge cases of per-token-group
     * quantization in groups of g columns: in every group of every row the largest magnitude m
     * appears twice with opposite signs (an amax tie) and once as m·432/448, whose quotient by the
     * scale falls on the e4m3 rounding midpoint between 416 and 448 (so it also probes saturation
     * when the f32 division lands above 448); row t ≡ 1 (mod 3) has group t mod G all zero and row
     * t ≡ 2 (mod 3) has it scaled to 1e-12, below vLLM's eps (1e-10) on the group's amax.
     */
    static float[] groupEdgeActivations(float[] x, int tokens, int width, int k, int g) {
        int groups = (k + g - 1) / g;
        for (int t = 0; t < tokens; t++) {
            int row = t * width;
            for (int j = 0; j < groups; j++) {
                int c0 = row + j * g, c1 = row + Math.min(k, (j + 1) * g);
                float m = 0f;
                for (int c = c0; c < c1; c++) {
                    m = Math.max(m, Math.abs(x[c]));
                }
                x[c0] = m;
                x[c1 - 1] = -m;
                if (c1 - c0 > 2) {
                    x[c0 + 1] = m * (432f / 448f);
                }
                if (j == t % groups && t % 3 != 0) {
                    for (int c = c0; c < c1; c++) {
                        x[c] = t % 3 == 1 ? 0f : x[c] * 1e-12f;
                    }
                }
            }
        }
        return x;
    }

    /** The case's weight, drawn from the builder's random source (the same on every backend). */
    static LinearWeight weight(Case c, CaseBuilder b) {
        int k = c.k(), n = c.n(), g = c.group();
        Format f = c.format();
        SplittableRandom r = b.random();
        return switch (f) {
            case F32 -> new LinearWeight.Dense(b.input(DType.F32, -0.5, 1, n, k));
            case BF16 -> new LinearWeight.Dense(b.input(DType.BF16, -0.5, 1, n, k));
            case F16 -> new LinearWeight.Dense(b.input(DType.F16, -0.5, 1, n, k));
            case FP8_TENSOR, FP8_CHANNEL, FP8_BLOCK, FP8_TENSOR_STATIC, FP8_CHANNEL_DYNAMIC, FP8_BLOCK_DYNAMIC,
                 FP8_BLOCK_DYNAMIC_GROUP -> {
                // values in [-0.5, 1) × 448·(0.5..1): the e4m3 range a calibrated checkpoint uses
                Tensor q = b.input(DType.F8_E4M3, -224, 448, n, k);
                Tensor s = switch (f) {
                    case FP8_TENSOR, FP8_TENSOR_STATIC -> b.input(DType.F32, 1e-3, 4e-3, 1);
                    case FP8_CHANNEL, FP8_CHANNEL_DYNAMIC -> b.input(DType.F32, 1e-3, 4e-3, n);
                    default -> b.input(DType.F32, 1e-3, 4e-3, (n + g - 1) / g, (k + g - 1) / g);
                };
                Tensor inputScale = f == Format.FP8_TENSOR_STATIC ? b.input(DType.F32, 1.0 / 448, 2.0 / 448, 1) : null;
                int block = f.block() ? g : 0;
                yield new LinearWeight.Fp8(q, s, block, block, inputScale,
                        f == Format.FP8_CHANNEL_DYNAMIC || f == Format.FP8_BLOCK_DYNAMIC || f == Format.FP8_BLOCK_DYNAMIC_GROUP,
                        f == Format.FP8_BLOCK_DYNAMIC_GROUP ? block : 0);
            }
            case INT4_SYM, INT4_ZP, INT4_SYM_ACTORDER, INT4_ZP_ACTORDER -> {
                boolean zp = f == Format.INT4_ZP || f == Format.INT4_ZP_ACTORDER;
                int groups = (k + g - 1) / g;
                // q in 6..15 and zero points in 0..4: (q − zero) mostly positive, as for x
                int[] words = new int[n * k / 8];
                for (int i = 0; i < words.length; i++) {
                    int word = 0;
                    for (int j = 0; j < 8; j++) {
                        word |= (6 + r.nextInt(10)) << (4 * j);
                    }
                    words[i] = word;
                }
                Tensor scales = b.input(c.scaleType(), 0.01, 0.05, n, groups);
                Tensor zeros = null;
                if (zp) {
                    byte[] z = new byte[n * groups];
                    for (int i = 0; i < z.length; i++) {
                        z[i] = (byte) r.nextInt(5);
                    }
                    zeros = b.bytes(DType.U8, z, n, groups);
                }
                Tensor gIdx = null;
                if (f == Format.INT4_SYM_ACTORDER || f == Format.INT4_ZP_ACTORDER) {
                    // act-order: group of column k is perm(k) / groupSize for a random column permutation
                    int[] perm = new int[k];
                    for (int i = 0; i < k; i++) {
                        perm[i] = i;
                    }
                    for (int i = k - 1; i > 0; i--) {
                        int j = r.nextInt(i + 1);
                        int tmp = perm[i];
                        perm[i] = perm[j];
                        perm[j] = tmp;
                    }
                    int[] gi = new int[k];
                    for (int i = 0; i < k; i++) {
                        gi[i] = perm[i] / g;
                    }
                    gIdx = b.ints(gi, k);
                }
                yield new LinearWeight.Int4(b.ints(words, n, k / 8), scales, zeros, gIdx, g);
            }
            case INT8 -> {
                byte[] q = new byte[n * k];
                for (int i = 0; i < q.length; i++) {
                    q[i] = (byte) (r.nextInt(192) - 64); // −64..127: mostly positive
                }
                yield new LinearWeight.Int8(b.bytes(DType.I8, q, n, k), b.input(DType.F32, 2e-3, 8e-3, n));
            }
        };
    }

    /** See the class comment: f32 1e-10, bf16 1e-4, f16 2e-6 (NMSE). */
    static Tolerance tolerance(DType out) {
        return switch (out) {
            case BF16 -> Tolerance.nmse(1e-4);
            case F16 -> Tolerance.nmse(2e-6);
            default -> Tolerance.nmse(1e-10);
        };
    }

    /** Output energy per output element and K term below which the tolerance widens (see the class comment). */
    static final double ENERGY_FLOOR = 0.01;

    /** The tolerance of this case given the reference output: {@link #tolerance} with the energy floor. */
    static Tolerance effectiveTolerance(Case c, Tensor reference) {
        double energy = 0;
        for (float v : Tensors.toFloats(reference)) {
            if (Float.isFinite(v)) {
                energy += (double) v * v;
            }
        }
        double floor = ENERGY_FLOOR * c.tokens() * c.n() * c.k();
        double base = ((Tolerance.Nmse) tolerance(c.out())).max();
        return Tolerance.nmse(energy >= floor ? base : base * floor / Math.max(energy, 1e-30));
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        String guard = candidate.builder().guardViolation();
        if (guard != null) {
            return guard;
        }
        Tensor r = reference.output("out").tensor();
        return Comparison.compare("out", r, candidate.output("out").tensor(), effectiveTolerance(c, r));
    }

    @Override
    public Comparison.Measure measure(Case c, Instance reference, Instance candidate) {
        Tensor r = reference.output("out").tensor();
        return Comparison.measure("out", r, candidate.output("out").tensor(), effectiveTolerance(c, r));
    }

    @Override
    public double flops(Case c) {
        return 2.0 * c.tokens() * c.k() * c.n();
    }

    @Override
    public double bytes(Case c) {
        long nk = (long) c.n() * c.k();
        double w = switch (c.format()) {
            case F32 -> 4.0 * nk;
            case BF16, F16 -> 2.0 * nk;
            case INT8 -> nk + 4.0 * c.n();
            case INT4_SYM, INT4_ZP, INT4_SYM_ACTORDER, INT4_ZP_ACTORDER -> nk / 2.0
                    + (double) c.n() * ((c.k() + c.group() - 1) / c.group()) * (c.scaleType().byteSize() + 1);
            default -> nk + 4.0 * c.n();
        };
        return w + (double) c.tokens() * (c.k() * c.x().byteSize() + c.n() * c.out().byteSize());
    }

    private static String dt(DType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }
}
