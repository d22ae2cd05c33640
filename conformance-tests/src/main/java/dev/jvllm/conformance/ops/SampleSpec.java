package dev.jvllm.conformance.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Sample;
import dev.jvllm.api.ops.SamplingRandom;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.ops.SamplingLogits.Pattern;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link Sample}: the same (seed, offset) must draw the same token.
 *
 * <p>The one allowance is rounding at a boundary: where ids differ, the row is recomputed on the
 * host in f64 ({@link #analyze}); the candidate's id is accepted only when the draw
 * {@code u · mass} lies within {@link #BOUNDARY} (relative to the kept mass) of a cumulative
 * probability boundary, or a min-p / top-p decision lies that close to its threshold, and the
 * candidate's id is one that such a rounding could produce. Greedy rows (temperature ≤ 0) and
 * top-k (a comparison of f32 logits) are exact.
 */
public final class SampleSpec extends OpSpec<SampleSpec.Case> {
    /** Relative distance to a boundary under which f32-vs-f64 rounding may decide either way. */
    static final double BOUNDARY = 1e-5;

    /** Which sampling parameters the rows use. */
    public enum Mode {
        /** temperature ≤ 0: argmax */
        GREEDY,
        /** temperature only */
        TEMPERATURE,
        TOP_K, TOP_P, MIN_P,
        /** temperature, min-p, top-k and top-p together */
        ALL,
        /** each row picks one of the above */
        MIXED;

        String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** One case: rows, vocabulary, parameter mode, logit pattern. */
    public record Case(int rows, int vocab, Mode mode, Pattern pattern) {
    }

    @Override
    public OpKind op() {
        return OpKind.SAMPLE;
    }

    @Override
    public Gen<Case> cases() {
        return SamplingLogits.rows().zip(SamplingLogits.vocab(),
                Gens.oneOf(Mode.MIXED, Mode.ALL, Mode.TEMPERATURE, Mode.TOP_K, Mode.TOP_P, Mode.MIN_P, Mode.GREEDY),
                Gens.oneOf(Pattern.RANDOM, Pattern.PEAKED, Pattern.TIES, Pattern.MASKED), Case::new);
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(1, 1, Mode.ALL, Pattern.RANDOM),
                new Case(3, 2, Mode.MIXED, Pattern.RANDOM),
                new Case(4, 17, Mode.TOP_K, Pattern.TIES),     // ties at the top-k threshold are kept
                new Case(5, 64, Mode.TOP_P, Pattern.TIES),     // top-p order among equal p: lower id first
                new Case(2, 769, Mode.MIN_P, Pattern.PEAKED),
                new Case(6, 33, Mode.GREEDY, Pattern.TIES),
                new Case(8, 129, Mode.MIXED, Pattern.MASKED),
                new Case(1, 32_000, Mode.ALL, Pattern.RANDOM));
    }

    @Override
    public String name(Case c) {
        return "sample[B=" + c.rows() + ",V=" + c.vocab() + "," + c.mode().label() + "," + c.pattern().label() + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return "f32";
    }

    /** One row's parameters. */
    record Params(float temperature, int topK, float topP, float minP) {
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int rows = c.rows();
        Tensor logits = SamplingLogits.logits(b, DType.F32, c.pattern(), rows, c.vocab());
        SplittableRandom r = b.random();
        float[] t = new float[rows], topP = new float[rows], minP = new float[rows];
        int[] topK = new int[rows];
        long[] seeds = new long[rows], offsets = new long[rows];
        Mode[] single = {Mode.GREEDY, Mode.TEMPERATURE, Mode.TOP_K, Mode.TOP_P, Mode.MIN_P, Mode.ALL};
        for (int i = 0; i < rows; i++) {
            Mode m = c.mode() == Mode.MIXED ? single[r.nextInt(single.length)] : c.mode();
            Params p = params(m, c.vocab(), r);
            t[i] = p.temperature();
            topK[i] = p.topK();
            topP[i] = p.topP();
            minP[i] = p.minP();
            seeds[i] = r.nextLong();
            offsets[i] = r.nextInt(1 << 20);
        }
        Tensor out = b.output(DType.I32, rows);
        Sample args = new Sample(logits, b.input(DType.F32, t, rows), b.ints(topK, rows), b.input(DType.F32, topP, rows),
                b.input(DType.F32, minP, rows), b.longs(seeds, rows), b.longs(offsets, rows), out);
        return b.build(args, new Checked("out", out, Tolerance.BIT_EXACT, null));
    }

    private static Params params(Mode m, int vocab, SplittableRandom r) {
        float temperature = m == Mode.GREEDY ? (r.nextBoolean() ? 0f : -1f) : (float) (0.3 + 1.2 * r.nextDouble());
        int topK = 0;
        if (m == Mode.TOP_K || m == Mode.ALL) {
            // 1 (greedy by top-k), small k, or k ≥ V (off)
            int pick = r.nextInt(5);
            topK = pick == 0 ? 1 : pick == 1 ? vocab + r.nextInt(3) : 1 + r.nextInt(Math.min(vocab, 50));
        }
        float topP = m == Mode.TOP_P || m == Mode.ALL ? (float) (0.05 + 0.94 * r.nextDouble()) : 1f;
        float minP = m == Mode.MIN_P || m == Mode.ALL ? (float) (0.01 + 0.3 * r.nextDouble()) : 0f;
        return new Params(temperature, topK, topP, minP);
    }

    @Override
    public String compare(Case c, Instance reference, Instance candidate) {
        String g = candidate.builder().guardViolation();
        if (g != null) {
            return g;
        }
        int[] want = Tensors.toInts(reference.output("out").tensor());
        int[] got = Tensors.toInts(candidate.output("out").tensor());
        Sample a = (Sample) reference.args();
        float[] logits = null;
        for (int row = 0; row < want.length; row++) {
            if (want[row] == got[row]) {
                continue;
            }
            if (logits == null) {
                logits = Tensors.toFloats(a.logits());
            }
            Params p = new Params(Tensors.toFloats(a.temperature())[row], Tensors.toInts(a.topK())[row],
                    Tensors.toFloats(a.topP())[row], Tensors.toFloats(a.minP())[row]);
            long seed = longs(a.seeds())[row];
            long offset = longs(a.offsets())[row];
            double u = SamplingRandom.uniform(seed, offset);
            Analysis an = analyze(Arrays.copyOfRange(logits, row * c.vocab(), (row + 1) * c.vocab()), p, u);
            String where = "out: row " + row + " " + p + " seed " + seed + " offset " + offset + " (u = " + u
                    + "): reference id " + want[row] + ", candidate id " + got[row];
            if (got[row] < 0 || got[row] >= c.vocab()) {
                return where + ", outside the vocabulary";
            }
            if (!an.ambiguous()) {
                return where + "; no decision of this row is within " + BOUNDARY
                        + " of a boundary (nearest: " + String.format("%.2g", an.nearest()) + "), so the ids must match";
            }
            if (!an.plausible().contains(got[row])) {
                return where + "; the row is near a boundary but the candidate's id is not one rounding could pick";
            }
        }
        return null;
    }

    private static long[] longs(Tensor t) {
        ByteBuffer bb = ByteBuffer.wrap(Tensors.toBytes(t)).order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[(int) t.numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = bb.getLong();
        }
        return out;
    }

    /**
     * The host's f64 reading of one row.
     *
     * @param ambiguous a decision lies within {@link #BOUNDARY} of its threshold
     * @param nearest   the smallest relative distance of a decision to its threshold
     * @param plausible ids a backend could draw when rounding tips those decisions either way
     */
    record Analysis(boolean ambiguous, double nearest, Set<Integer> plausible) {
    }

    /**
     * The record's steps in f64 (l = x / t rounded to f32, as the record divides in f32), tracking how
     * close each decision comes to its threshold.
     */
    static Analysis analyze(float[] x, Params ps, double u) {
        int v = x.length;
        if (ps.temperature() <= 0f) {
            return new Analysis(false, Double.POSITIVE_INFINITY, Set.of());
        }
        double[] l = new double[v];
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            l[i] = x[i] / ps.temperature();
            m = Math.max(m, l[i]);
        }
        double[] p = new double[v];
        double s = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp(l[i] - m);
            s += p[i];
        }
        double pmax = 0;
        for (int i = 0; i < v; i++) {
            p[i] /= s;
            pmax = Math.max(pmax, p[i]);
        }
        double nearest = Double.POSITIVE_INFINITY;
        List<Integer> kept = new ArrayList<>();
        List<Integer> loose = new ArrayList<>(); // kept when every near decision goes the generous way
        for (int i = 0; i < v; i++) {
            kept.add(i);
            loose.add(i);
        }
        if (ps.minP() > 0) {
            double top = pmax;
            double thr = ps.minP() * top;
            for (int i = 0; i < v; i++) {
                nearest = Math.min(nearest, Math.abs(p[i] - thr) / top);
            }
            kept.removeIf(i -> p[i] < thr);
            loose.removeIf(i -> p[i] < thr - BOUNDARY * top);
        }
        if (ps.topK() > 0 && ps.topK() < v) {
            kept = topK(kept, l, ps.topK());
            loose = topK(loose, l, ps.topK());
        }
        if (ps.topP() < 1) {
            double[] d = new double[1];
            kept = topP(kept, p, ps.topP(), 0, d);
            nearest = Math.min(nearest, d[0]);
            loose = topP(loose, p, ps.topP(), BOUNDARY, d);
        }
        double mass = 0;
        for (int i : kept) {
            mass += p[i];
        }
        Set<Integer> plausible = new HashSet<>();
        double cum = 0;
        for (int j = 0; j < kept.size(); j++) {
            cum += p[kept.get(j)];
            double dist = Math.abs(cum - u * mass) / mass;
            nearest = Math.min(nearest, dist);
            if (dist <= BOUNDARY) {
                // the draw sits on the boundary between token j and the next token with p > 0
                plausible.add(kept.get(j));
                for (int n = j + 1; n < kept.size(); n++) {
                    if (p[kept.get(n)] > 0) {
                        plausible.add(kept.get(n));
                        break;
                    }
                }
            }
        }
        boolean ambiguous = nearest <= BOUNDARY;
        if (ambiguous && !kept.equals(loose)) {
            plausible.addAll(loose); // a filter decision is near its threshold: any loosely kept id
        }
        return new Analysis(ambiguous, nearest, plausible);
    }

    /** Among kept, those whose l is ≥ the k-th largest kept l (all ties kept). */
    private static List<Integer> topK(List<Integer> kept, double[] l, int k) {
        if (k >= kept.size()) {
            return kept;
        }
        double thr = kept.stream().map(i -> l[i]).sorted(Comparator.reverseOrder()).toList().get(k - 1);
        return new ArrayList<>(kept.stream().filter(i -> l[i] >= thr).toList());
    }

    /**
     * The shortest p-descending prefix (ties: lower id) whose sum reaches topP · mass − slack · mass,
     * in ascending id; {@code nearest[0]} gets the relative distance of the prefix sums to the target.
     */
    private static List<Integer> topP(List<Integer> kept, double[] p, float topP, double slack, double[] nearest) {
        double mass = 0;
        for (int i : kept) {
            mass += p[i];
        }
        List<Integer> order = new ArrayList<>(kept);
        order.sort(Comparator.comparingDouble((Integer i) -> -p[i]).thenComparingInt(i -> i));
        double target = topP * mass;
        double cum = 0;
        int n = 0;
        nearest[0] = Double.POSITIVE_INFINITY;
        while (n < order.size()) {
            cum += p[order.get(n++)];
            nearest[0] = Math.min(nearest[0], Math.abs(cum - target) / mass);
            if (cum >= target + slack * mass) {
                break;
            }
        }
        List<Integer> out = new ArrayList<>(order.subList(0, n));
        out.sort(null);
        return out;
    }

    @Override
    public double flops(Case c) {
        return 6.0 * c.rows() * c.vocab();
    }

    @Override
    public double bytes(Case c) {
        return 4.0 * c.rows() * c.vocab() + 40.0 * c.rows();
    }
}
