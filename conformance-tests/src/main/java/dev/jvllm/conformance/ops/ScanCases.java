package dev.jvllm.conformance.ops;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Comparison;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.Tolerance;
import java.util.ArrayList;
import java.util.List;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.SourceDSL;

/**
 * Shared by the stateful op specs (conv, scans, SSD, short conv, linear attention): varlen batches
 * of sequences that are fresh, continued or padded, their {@link StateBatch} tensors over a state
 * pool larger than the batch, and a comparison that looks at the rows of running sequences on
 * their own.
 *
 * <p>Why a comparison of its own: rows of padded sequences keep the {@link CaseBuilder#CANARY}
 * bytes (≈3.4e38 in f32/bf16), which would dominate an NMSE over the whole output and hide any
 * error in the real rows. So the output's tolerance is applied to the rows of running sequences
 * (and the state's to the slots they use), and every other row must stay bit-identical.
 */
final class ScanCases {
    private ScanCases() {
    }

    /** One sequence of a varlen case: token count, continues from its slot, or padding (slot −1). */
    record Seq(int len, boolean init, boolean pad) {
        @Override
        public String toString() {
            return (pad ? "P" : "") + len + (init ? "i" : "");
        }
    }

    /** Sequence lengths 1..40, biased to 1 (decode-like) and sizes around vector and chunk widths. */
    static Gen<Integer> lengths() {
        return Gens.size(1, 40, 1, 1, 2, 3, 7, 8, 9, 16, 17, 31, 33, 40);
    }

    /** A sequence: one in six padded; the others fresh or continued alike. */
    static Gen<Seq> seq() {
        return lengths().zip(SourceDSL.integers().between(0, 5),
                (len, kind) -> new Seq(len, kind % 2 == 1 && kind != 5, kind == 5));
    }

    /** Batches of 0..5 sequences; empty batches (legal, and a kernel edge) one draw in eleven. */
    static Gen<List<Seq>> seqs() {
        return SourceDSL.lists().of(seq()).ofSizes(SourceDSL.integers().between(0, 10).map(i -> (i + 1) / 2));
    }

    /** Decode batches: 0..8 one-token sequences, each padded (one in five) or not; empty one draw in seventeen. */
    static Gen<List<Boolean>> decodes() {
        return SourceDSL.lists().of(SourceDSL.integers().between(0, 4).map(i -> i == 4))
                .ofSizes(SourceDSL.integers().between(0, 16).map(i -> (i + 1) / 2));
    }

    /** Activation dtypes. */
    static Gen<DType> dtypes() {
        return Gens.oneOf(DType.F32, DType.BF16, DType.F16);
    }

    static String label(List<Seq> seqs) {
        return "L=" + seqs.toString().replace(" ", "");
    }

    static String decodeLabel(List<Boolean> padded) {
        long pads = padded.stream().filter(p -> p).count();
        StringBuilder sb = new StringBuilder("B=" + padded.size());
        if (pads > 0) {
            sb.append("(");
            for (int i = 0; i < padded.size(); i++) {
                sb.append(padded.get(i) ? "P" : ".");
            }
            sb.append(")");
        }
        return sb.toString();
    }

    static String dt(DType d) {
        return d.name().toLowerCase(java.util.Locale.ROOT);
    }

    static int tokens(List<Seq> seqs) {
        return seqs.stream().mapToInt(Seq::len).sum();
    }

    static int active(List<Seq> seqs) {
        return (int) seqs.stream().filter(s -> !s.pad()).count();
    }

    /**
     * The metadata of a case on one backend.
     *
     * @param slots          state pool size: running sequences + extra
     * @param untouchedSlots pool slots no running sequence uses (must stay bit-identical)
     */
    record Layout(StateBatch batch, Tensor stateIndices, int tokens, int slots, int[] untouchedSlots) {
    }

    /**
     * Builds the {@link StateBatch} of a varlen case: running sequences get distinct slots of a pool
     * of {@code active + extra} slots in a random order (drawn from b, so the same on every backend).
     */
    static Layout build(CaseBuilder b, List<Seq> seqs, int extra) {
        int n = seqs.size(), slots = active(seqs) + extra;
        int[] perm = permutation(b, slots);
        int[] qsl = new int[n + 1], idx = new int[n], init = new int[n];
        int next = 0;
        for (int i = 0; i < n; i++) {
            Seq s = seqs.get(i);
            qsl[i + 1] = qsl[i] + s.len();
            idx[i] = s.pad() ? -1 : perm[next++];
            init[i] = s.init() ? 1 : 0;
        }
        Tensor si = b.ints(idx, n);
        StateBatch batch = new StateBatch(b.ints(qsl, n + 1), si, b.ints(init, n));
        return new Layout(batch, si, qsl[n], slots, untouched(perm, next, slots));
    }

    /** The stateIndices of a decode case ([B], −1 = padding) over a pool of running + extra slots. */
    static Layout buildDecode(CaseBuilder b, List<Boolean> padded, int extra) {
        int n = padded.size(), running = (int) padded.stream().filter(p -> !p).count(), slots = running + extra;
        int[] perm = permutation(b, slots);
        int[] idx = new int[n];
        int next = 0;
        for (int i = 0; i < n; i++) {
            idx[i] = padded.get(i) ? -1 : perm[next++];
        }
        Tensor si = b.ints(idx, n);
        return new Layout(null, si, n, slots, untouched(perm, next, slots));
    }

    private static int[] permutation(CaseBuilder b, int slots) {
        int[] perm = new int[slots];
        for (int i = 0; i < slots; i++) {
            perm[i] = i;
        }
        for (int i = slots - 1; i > 0; i--) {
            int j = b.random().nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return perm;
    }

    private static int[] untouched(int[] perm, int used, int slots) {
        int[] u = new int[slots - used];
        System.arraycopy(perm, used, u, 0, u.length);
        java.util.Arrays.sort(u);
        return u;
    }

    /**
     * NMSE for an output rounded once from a short f32 sum (conv taps, SiLU, gates). f32: both
     * sides round the same few products (~1e-7 relative). bf16/f16: the once-rounded output may
     * land one ulp apart (2^-8 / 2^-11 relative) where the f32 values straddle a rounding boundary,
     * which happens for a small fraction of elements; the bounds are ~100× that noise and still far
     * below what a wrong tap, slot or gate produces (≥ 1e-3).
     */
    static Tolerance convOut(DType dt) {
        return Tolerance.nmse(switch (dt) {
            case BF16 -> 1e-6;
            case F16 -> 1e-7;
            default -> 1e-10;
        });
    }

    /**
     * NMSE for the output of a recurrence over up to 40 tokens with exp decays (scans, SSD, linear
     * attention). f32: rounding of exp and of the state compounds over the steps, and a chunked
     * evaluation (allowed for SSD) reorders sums: ~1e-6 relative, so 1e-9. bf16/f16: as
     * {@link #convOut}, with more boundary straddles because the f32 values differ more.
     */
    static Tolerance scanOut(DType dt) {
        return Tolerance.nmse(switch (dt) {
            case BF16 -> 1e-6;
            case F16 -> 1e-7;
            default -> 1e-9;
        });
    }

    /** NMSE for an f32 scan state (whatever the activation dtype: it is computed in f32 from the same inputs). */
    static final Tolerance SCAN_STATE = Tolerance.nmse(1e-9);

    /** Token rows of running sequences (from the case) and every other row. */
    static int[][] rows(List<Seq> seqs) {
        List<Integer> run = new ArrayList<>(), other = new ArrayList<>();
        int t = 0;
        for (Seq s : seqs) {
            for (int i = 0; i < s.len(); i++) {
                (s.pad() ? other : run).add(t++);
            }
        }
        return new int[][] {run.stream().mapToInt(i -> i).toArray(), other.stream().mapToInt(i -> i).toArray()};
    }

    /** Rows of a decode batch: running and padded. */
    static int[][] decodeRows(List<Boolean> padded) {
        List<Integer> run = new ArrayList<>(), other = new ArrayList<>();
        for (int i = 0; i < padded.size(); i++) {
            (padded.get(i) ? other : run).add(i);
        }
        return new int[][] {run.stream().mapToInt(i -> i).toArray(), other.stream().mapToInt(i -> i).toArray()};
    }

    /** The slots the running sequences use, read back from the instance's stateIndices. */
    static int[] usedSlots(Tensor stateIndices) {
        return java.util.Arrays.stream(Tensors.toInts(stateIndices)).filter(s -> s >= 0).toArray();
    }

    /**
     * The whole comparison of a stateful case: {@link Comparison#compareOutputs} (guards, every
     * output with its tolerance, untouched slots), then the output's tolerance on the running rows
     * alone with every other row bit-identical, then the state's tolerance on the used slots alone.
     *
     * @param rows  {running rows, other rows} of "out"
     * @param state the name of the state output
     * @param used  the slots running sequences use
     */
    static String compare(Instance ref, Instance cand, int[][] rows, String state, int[] used) {
        String m = Comparison.compareOutputs(ref, cand);
        if (m != null) {
            return m;
        }
        List<Part> parts = parts(ref, cand, rows, state, used);
        try {
            for (Part p : parts) {
                m = Comparison.compare(p.name(), p.ref(), p.cand(), p.tol());
                if (m != null) {
                    return m;
                }
            }
            return null;
        } finally {
            parts.forEach(Part::close);
        }
    }

    /** The measure matching {@link #compare}: the worst of the whole-output measures and the strict ones. */
    static Comparison.Measure measure(Instance ref, Instance cand, int[][] rows, String state, int[] used) {
        Comparison.Measure worst = Comparison.measureOutputs(ref, cand);
        List<Part> parts = parts(ref, cand, rows, state, used);
        try {
            for (Part p : parts) {
                worst = Comparison.Measure.worse(worst, Comparison.measure(p.name(), p.ref(), p.cand(), p.tol()));
            }
            return worst;
        } finally {
            parts.forEach(Part::close);
        }
    }

    /** One strict comparison: f32 copies of the selected rows or slots of both sides, and its tolerance. */
    private record Part(String name, Tensor ref, Tensor cand, Tolerance tol) {
        void close() {
            ref.close();
            cand.close();
        }
    }

    private static List<Part> parts(Instance ref, Instance cand, int[][] rows, String state, int[] used) {
        Backend host = ref.builder().backend();
        Checked ro = ref.output("out"), co = cand.output("out"), rs = ref.output(state), cs = cand.output(state);
        List<Part> parts = new ArrayList<>();
        if (rows[0].length > 0) {
            parts.add(new Part("out (running rows)", gather(host, ro.tensor(), rows[0]), gather(host, co.tensor(),
                    rows[0]), ro.tolerance()));
        }
        if (rows[1].length > 0) { // padded sequences' rows keep their canaries
            parts.add(new Part("out (padded rows)", gather(host, ro.tensor(), rows[1]), gather(host, co.tensor(),
                    rows[1]), Tolerance.BIT_EXACT));
        }
        if (used.length > 0) {
            parts.add(new Part(state + " (used slots)", gather(host, rs.tensor(), used), gather(host, cs.tensor(), used),
                    rs.tolerance()));
        }
        return parts;
    }

    /** Indices {@code picks} of t's first dimension, as an F32 tensor on host (values exact for every float dtype). */
    private static Tensor gather(Backend host, Tensor t, int[] picks) {
        int per = Math.toIntExact(t.numel() / Math.max(1, t.dim(0)));
        float[] out = new float[picks.length * per];
        for (int i = 0; i < picks.length; i++) {
            System.arraycopy(Tensors.toFloats(t.slice(picks[i], 1)), 0, out, i * per, per);
        }
        return Tensors.fromFloats(host, DType.F32, out, picks.length, per);
    }
}
