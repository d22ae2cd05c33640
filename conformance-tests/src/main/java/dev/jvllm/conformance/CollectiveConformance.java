package dev.jvllm.conformance;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpKind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;
import java.util.function.Predicate;

/**
 * The conformance harness of the {@link Communicator} collectives ({@link OpKind#ALL_REDUCE},
 * {@link OpKind#ALL_GATHER}, {@link OpKind#BROADCAST}).
 *
 * <p>For each world size in {@link #WORLD_SIZES} it asks the candidate for a connected group
 * ({@link BackendProvider#createGroup}), runs each case from one thread per rank (rank r always on
 * the same thread) on random F32/BF16/F16 tensors — contiguous and strided views with canary
 * columns — and compares every rank's result with a reference computed on the host:
 * <ul>
 *   <li>all-reduce: {@code ((x0 + x1) + x2) + ...} in f32, rounded once to the dtype, the
 *       Communicator contract, bit for bit ({@link SumRule#RANK_ORDER}); or, for a backend whose
 *       library sums in another order (NCCL rings), {@link SumRule#ANY_ORDER}: every rank must still
 *       hold the same bits, within {@code n·u·Σ|x_k|} of the exact sum (u: the dtype's unit
 *       roundoff). Inputs span 2^−12..2^12 in magnitude, so the order shows in the bits;</li>
 *   <li>all-gather: rank k's input in columns [k·C, (k+1)·C) of every rank's output, bit for bit,
 *       inputs unchanged;</li>
 *   <li>broadcast: the root's input on every rank, bit for bit.</li>
 * </ul>
 * Canary columns around strided views must stay intact. A case that does not finish within
 * {@link #CASE_TIMEOUT_SECONDS} fails as a deadlock and the group is replaced. A provider that
 * cannot make a group of some size ({@link UnsupportedOperationException}) gets UNSUPPORTED cases.
 *
 * <p>Case names: {@code all_reduce[n=3,7x769,bf16,strided]}, {@code broadcast[n=4,1x8,f32,root=2]}.
 * The reference is the host computation above, not a second backend, so the suite's reference
 * group is not used.
 */
public final class CollectiveConformance implements SuiteRunner.CollectiveSuite {
    /** Group sizes every candidate is checked with. */
    public static final int[] WORLD_SIZES = {2, 3, 4};
    /** A case slower than this is reported as a deadlock. */
    public static final long CASE_TIMEOUT_SECONDS = 120;

    /** How all-reduce sums are compared. */
    public enum SumRule {
        /** Bit-exact with the f32 sum in rank order, rounded once: the {@link Communicator} contract. */
        RANK_ORDER,
        /** Ranks agree bit for bit; each sum within {@code n·u·Σ|x_k|} of the exact one. */
        ANY_ORDER
    }

    /**
     * One collective case.
     *
     * @param shape   per-rank tensor shape (for all-gather: the input; the output has n times its last dimension)
     * @param strided whether tensors are views with a row stride larger than their last dimension
     * @param root    broadcast root (−1 for the other ops)
     */
    record Case(OpKind op, int ranks, DType dtype, int[] shape, boolean strided, int root) {
        String name() {
            StringBuilder sb = new StringBuilder(op.id()).append("[n=").append(ranks).append(',');
            for (int i = 0; i < shape.length; i++) {
                sb.append(i == 0 ? "" : "x").append(shape[i]);
            }
            sb.append(',').append(dtype.name().toLowerCase(Locale.ROOT));
            if (strided) {
                sb.append(",strided");
            }
            if (op == OpKind.BROADCAST) {
                sb.append(",root=").append(root);
            }
            return sb.append(']').toString();
        }

        int cols() {
            return shape[shape.length - 1];
        }

        int rows() {
            int r = 1;
            for (int i = 0; i < shape.length - 1; i++) {
                r *= shape[i];
            }
            return r;
        }

        int numel() {
            return rows() * cols();
        }
    }

    private final SumRule sumRule;
    private final long caseTimeoutMillis;

    /** The harness with the Communicator contract's rank-order sums. */
    public CollectiveConformance() {
        this(SumRule.RANK_ORDER, TimeUnit.SECONDS.toMillis(CASE_TIMEOUT_SECONDS));
    }

    /** A harness with another sum rule and case timeout. */
    public CollectiveConformance(SumRule sumRule, long caseTimeoutMillis) {
        if (caseTimeoutMillis <= 0) {
            throw new IllegalArgumentException("caseTimeoutMillis must be > 0, got " + caseTimeoutMillis);
        }
        this.sumRule = sumRule;
        this.caseTimeoutMillis = caseTimeoutMillis;
    }

    /**
     * Checks all three collectives on groups the provider makes.
     *
     * @return results per op, pinned cases first, then {@code examples} generated ones per op
     */
    public static Map<OpKind, List<Conformance.CaseResult>> check(BackendProvider provider, BackendOptions options,
            int examples, long seed) {
        return new CollectiveConformance().checkAll(n -> provider.createGroup(n, options), examples, seed, null);
    }

    /** Checks all three collectives on groups {@code groups} makes (rank i at index i). */
    public Map<OpKind, List<Conformance.CaseResult>> checkAll(IntFunction<List<Backend>> groups, int examples,
            long seed, Predicate<String> caseFilter) {
        Map<OpKind, List<Conformance.CaseResult>> out = new EnumMap<>(OpKind.class);
        for (OpKind op : List.of(OpKind.ALL_REDUCE, OpKind.ALL_GATHER, OpKind.BROADCAST)) {
            out.put(op, checkOp(op, groups, examples, seed, caseFilter));
        }
        return out;
    }

    /** {@link SuiteRunner}'s entry point; the reference group is not used (the reference is the host). */
    @Override
    public List<Conformance.CaseResult> check(OpKind op, IntFunction<List<Backend>> candidateGroup,
            IntFunction<List<Backend>> referenceGroup, int examples, long seed, Predicate<String> caseFilter) {
        return checkOp(op, candidateGroup, examples, seed, caseFilter);
    }

    /** Runs one collective's pinned and generated cases; results in case order, one per distinct name. */
    public List<Conformance.CaseResult> checkOp(OpKind op, IntFunction<List<Backend>> groups, int examples, long seed,
            Predicate<String> caseFilter) {
        if (op.family() != OpKind.Family.COLLECTIVE) {
            throw new IllegalArgumentException(op + " is not a collective; use Conformance.check with its OpSpec");
        }
        List<Case> cases = new ArrayList<>(pinned(op));
        cases.addAll(generated(op, examples, seed));
        Set<String> seen = new LinkedHashSet<>();
        List<Case> run = cases.stream().filter(c -> seen.add(c.name()))
                .filter(c -> caseFilter == null || caseFilter.test(c.name())).toList();
        List<Conformance.CaseResult> results = new ArrayList<>();
        for (int n : WORLD_SIZES) {
            List<Case> mine = run.stream().filter(c -> c.ranks() == n).toList();
            if (!mine.isEmpty()) {
                runGroup(n, mine, groups, seed, results);
            }
        }
        // back to case order (pinned first) for reports
        List<String> order = run.stream().map(Case::name).toList();
        results.sort((a, b) -> Integer.compare(order.indexOf(a.name()), order.indexOf(b.name())));
        return results;
    }

    // ---- cases ----

    /** Fixed cases per op and world size: 1×1, an odd-width strided bf16 matrix, a vector, a 3-d f32 view. */
    static List<Case> pinned(OpKind op) {
        List<Case> out = new ArrayList<>();
        for (int n : WORLD_SIZES) {
            out.add(new Case(op, n, DType.F32, new int[] {1, 1}, false, root(op, 0)));
            out.add(new Case(op, n, DType.BF16, new int[] {7, 769}, true, root(op, n - 1)));
            out.add(new Case(op, n, DType.F32, new int[] {3, 33}, true, root(op, 1)));
            out.add(new Case(op, n, DType.BF16, new int[] {1, 8}, false, root(op, n / 2)));
            if (op != OpKind.ALL_GATHER) { // all-gather is [R, C] by contract
                out.add(new Case(op, n, DType.F32, new int[] {129}, false, root(op, 0)));
                out.add(new Case(op, n, DType.F16, new int[] {2, 3, 17}, true, root(op, n - 1)));
            }
        }
        return out;
    }

    private static int root(OpKind op, int r) {
        return op == OpKind.BROADCAST ? r : -1;
    }

    /** {@code examples} random cases from the seed: sizes near vector widths ±1 and primes. */
    static List<Case> generated(OpKind op, int examples, long seed) {
        SplittableRandom r = new SplittableRandom(seed ^ op.id().hashCode());
        int[] rowPicks = {1, 2, 3, 5, 7, 8, 9, 16, 17};
        DType[] dtypes = {DType.F32, DType.BF16, DType.F16};
        List<Case> out = new ArrayList<>();
        for (int i = 0; i < examples; i++) {
            int n = WORLD_SIZES[r.nextInt(WORLD_SIZES.length)];
            int rows = rowPicks[r.nextInt(rowPicks.length)];
            int cols = r.nextBoolean() ? Gens.WIDTHS[r.nextInt(Gens.WIDTHS.length)] : 1 + r.nextInt(300);
            DType dt = dtypes[r.nextInt(dtypes.length)];
            out.add(new Case(op, n, dt, new int[] {rows, cols}, r.nextBoolean(), root(op, r.nextInt(n))));
        }
        return out;
    }

    // ---- running ----

    /** A group of candidate ranks, each with its own thread. */
    private static final class Group implements AutoCloseable {
        final List<Backend> backends;
        final List<ExecutorService> threads = new ArrayList<>();

        Group(List<Backend> backends) {
            this.backends = backends;
            for (int r = 0; r < backends.size(); r++) {
                int rank = r;
                threads.add(Executors.newSingleThreadExecutor(task -> {
                    Thread t = new Thread(task, "collective-rank-" + rank);
                    t.setDaemon(true); // a deadlocked candidate must not keep the JVM alive
                    return t;
                }));
            }
        }

        /** After a deadlock: interrupt the stuck ranks and leave their backends alone. */
        void abandon() {
            threads.forEach(ExecutorService::shutdownNow);
        }

        @Override
        public void close() {
            threads.forEach(ExecutorService::shutdownNow);
            for (Backend b : backends) {
                try {
                    b.close();
                } catch (RuntimeException ignored) {
                    // closing is best effort after the results are in
                }
            }
        }
    }

    private void runGroup(int n, List<Case> cases, IntFunction<List<Backend>> groups, long seed,
            List<Conformance.CaseResult> results) {
        Group group = null;
        try {
            for (Case c : cases) {
                if (group == null) {
                    try {
                        List<Backend> bs = groups.apply(n);
                        if (bs == null || bs.size() != n) {
                            throw new IllegalStateException("the group factory returned " + (bs == null ? "null"
                                    : bs.size() + " backends") + " for a group of " + n);
                        }
                        group = new Group(bs);
                    } catch (UnsupportedOperationException e) {
                        for (Case rest : cases) {
                            results.add(new Conformance.CaseResult(rest.name(), label(rest), Conformance.Status.UNSUPPORTED,
                                    "no group of " + n + " ranks: " + e.getMessage()));
                        }
                        return;
                    } catch (RuntimeException e) {
                        results.add(fail(c, "creating a group of " + n + " ranks threw " + e));
                        continue;
                    }
                }
                Outcome o = runCase(c, group, Conformance.dataSeed(seed, c.name()));
                results.add(o.result());
                if (o.deadlocked()) {
                    group.abandon();
                    group = null;
                }
            }
        } finally {
            if (group != null) {
                group.close();
            }
        }
    }

    private record Outcome(Conformance.CaseResult result, boolean deadlocked) {
    }

    /** What one rank saw: its result (and, for all-gather, its input after the op) and its canaries. */
    private record RankResult(byte[] result, byte[] inputAfter, String guard) {
    }

    private Outcome runCase(Case c, Group group, long dataSeed) {
        int n = c.ranks();
        float[][] inputs = inputs(c, dataSeed);
        List<Future<RankResult>> futures = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int rank = r;
            futures.add(group.threads.get(r).submit(() -> onRank(c, group.backends.get(rank), rank, inputs[rank])));
        }
        RankResult[] got = new RankResult[n];
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(caseTimeoutMillis);
        List<String> errors = new ArrayList<>();
        boolean deadlocked = false;
        for (int r = 0; r < n; r++) {
            try {
                got[r] = futures.get(r).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                deadlocked = true;
                errors.add("rank " + r + " did not finish within " + caseTimeoutMillis + " ms (deadlock?)");
            } catch (ExecutionException e) {
                errors.add("rank " + r + " threw " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                errors.add("interrupted while waiting for rank " + r);
                deadlocked = true;
            }
        }
        if (!errors.isEmpty()) {
            return new Outcome(fail(c, String.join("; ", errors)), deadlocked);
        }
        String m = compare(c, inputs, got);
        return new Outcome(m == null ? new Conformance.CaseResult(c.name(), label(c), Conformance.Status.PASS, "")
                : fail(c, m), false);
    }

    /** One rank's part of a case: allocate on its backend, run the collective, read everything back. */
    private static RankResult onRank(Case c, Backend b, int rank, float[] input) {
        Communicator comm = b.communicator();
        if (comm.size() != c.ranks() || comm.rank() != rank) {
            throw new IllegalStateException("backend " + rank + " of the group has communicator rank " + comm.rank()
                    + " of " + comm.size() + ", expected rank " + rank + " of " + c.ranks());
        }
        List<Tensor> owned = new ArrayList<>();
        try {
            Guarded t = guarded(b, c.dtype(), c.shape(), c.strided(), owned);
            Tensors.writeFloats(t.view(), input);
            switch (c.op()) {
                case ALL_REDUCE -> comm.allReduceSum(t.view());
                case BROADCAST -> comm.broadcast(t.view(), c.root());
                case ALL_GATHER -> {
                    int[] outShape = c.shape().clone();
                    outShape[outShape.length - 1] *= c.ranks();
                    Guarded out = guarded(b, c.dtype(), outShape, c.strided(), owned);
                    comm.allGather(t.view(), out.view());
                    b.synchronize();
                    String guard = out.violation();
                    if (guard == null) {
                        guard = t.violation();
                    }
                    return new RankResult(Tensors.toBytes(out.view()), Tensors.toBytes(t.view()), guard);
                }
                default -> throw new IllegalArgumentException(c.op() + " is not a collective");
            }
            b.synchronize();
            return new RankResult(Tensors.toBytes(t.view()), null, t.violation());
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    /** A tensor and, when strided, the canary-filled allocation it is a view of. */
    private record Guarded(Tensor parent, Tensor view) {
        /** null when every byte of the parent outside the view is still a canary. */
        String violation() {
            if (parent == view) {
                return null;
            }
            byte[] all = Tensors.toBytes(parent);
            int es = parent.dtype().byteSize();
            long pc = parent.cols();
            long vc = view.cols();
            long first = view.layout().offset() - parent.layout().offset();
            for (int i = 0; i < all.length; i++) {
                long e = i / es;
                long col = e % pc;
                boolean inView = col >= first && col < first + vc;
                if (!inView && all[i] != CaseBuilder.CANARY) {
                    return "canary element (row " + (e / pc) + ", col " + col + ") beside the strided view "
                            + view.describe() + " was overwritten";
                }
            }
            return null;
        }
    }

    /** Strided: a view of columns [2, 2 + C) in rows of C + 5, all canaries before the data is written. */
    private static Guarded guarded(Backend b, DType dt, int[] shape, boolean strided, List<Tensor> owned) {
        if (!strided) {
            Tensor t = b.allocate(dt, shape);
            owned.add(t);
            return new Guarded(t, t);
        }
        int[] ps = shape.clone();
        ps[ps.length - 1] += 5;
        Tensor parent = b.allocate(dt, ps);
        owned.add(parent);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(1, parent.numel() * dt.byteSize()));
            seg.fill(CaseBuilder.CANARY);
            b.write(parent, seg);
        }
        return new Guarded(parent, parent.narrowLast(2, shape[shape.length - 1]));
    }

    /** Per-rank inputs, rounded to the dtype: |x| spread over 2^−12..2^12 so the summation order shows. */
    static float[][] inputs(Case c, long dataSeed) {
        SplittableRandom r = new SplittableRandom(dataSeed);
        float[][] in = new float[c.ranks()][c.numel()];
        for (float[] x : in) {
            for (int i = 0; i < x.length; i++) {
                x[i] = Numerics.roundTo(c.dtype(), (float) ((r.nextDouble() - 0.5) * Math.scalb(1.0, r.nextInt(-12, 13))));
            }
        }
        return in;
    }

    // ---- comparison ----

    private String compare(Case c, float[][] inputs, RankResult[] got) {
        int n = c.ranks();
        for (int r = 0; r < n; r++) {
            if (got[r].guard() != null) {
                return "rank " + r + ": " + got[r].guard();
            }
        }
        return switch (c.op()) {
            case ALL_REDUCE -> compareSums(c, inputs, got);
            case BROADCAST -> {
                float[] want = inputs[c.root()];
                for (int r = 0; r < n; r++) {
                    String m = sameBits(c, want, got[r].result(), "rank " + r + " (root " + c.root() + "'s tensor)");
                    if (m != null) {
                        yield m;
                    }
                }
                yield null;
            }
            case ALL_GATHER -> {
                int rows = c.rows(), cols = c.cols();
                float[] want = new float[rows * cols * n];
                for (int k = 0; k < n; k++) {
                    for (int row = 0; row < rows; row++) {
                        System.arraycopy(inputs[k], row * cols, want, row * n * cols + k * cols, cols);
                    }
                }
                for (int r = 0; r < n; r++) {
                    String m = sameBits(c, want, got[r].result(), "rank " + r + " output");
                    if (m == null) {
                        m = sameBits(c, inputs[r], got[r].inputAfter(), "rank " + r + " input (must stay unchanged)");
                    }
                    if (m != null) {
                        yield m;
                    }
                }
                yield null;
            }
            default -> throw new IllegalArgumentException(c.op() + " is not a collective");
        };
    }

    private String compareSums(Case c, float[][] inputs, RankResult[] got) {
        int n = c.ranks();
        int numel = c.numel();
        float[] want = new float[numel];
        double[] bound = new double[numel];
        double u = switch (c.dtype()) {
            case BF16 -> 0x1p-8;
            case F16 -> 0x1p-11;
            default -> 0x1p-24;
        };
        for (int i = 0; i < numel; i++) {
            float s = inputs[0][i];
            double abs = Math.abs(inputs[0][i]);
            for (int k = 1; k < n; k++) {
                s += inputs[k][i];
                abs += Math.abs(inputs[k][i]);
            }
            want[i] = Numerics.roundTo(c.dtype(), s);
            bound[i] = n * u * abs;
        }
        if (sumRule == SumRule.RANK_ORDER) {
            for (int r = 0; r < n; r++) {
                String m = sameBits(c, want, got[r].result(), "rank " + r
                        + " (f32 sum in rank order, rounded once, expected)");
                if (m != null) {
                    return m;
                }
            }
            return null;
        }
        for (int r = 1; r < n; r++) {
            if (!Arrays.equals(got[0].result(), got[r].result())) {
                return "ranks 0 and " + r + " hold different sums; every rank must get the same bits";
            }
        }
        float[] c0 = decode(c.dtype(), got[0].result());
        for (int i = 0; i < numel; i++) {
            double exact = 0;
            for (int k = 0; k < n; k++) {
                exact += inputs[k][i];
            }
            double err = Math.abs((double) c0[i] - exact);
            if (!(err <= bound[i])) {
                return String.format("element %d: sum %s differs from the exact %s by %.3g > n·u·Σ|x| = %.3g",
                        i, c0[i], exact, err, bound[i]);
            }
        }
        return null;
    }

    /** null when {@code bytes} (the candidate's, in dtype) equals {@code want} rounded to dtype, bit for bit. */
    private static String sameBits(Case c, float[] want, byte[] bytes, String what) {
        float[] got = decode(c.dtype(), bytes);
        if (got.length != want.length) {
            return what + ": " + got.length + " elements, expected " + want.length;
        }
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                int cols = want.length / Math.max(1, c.rows());
                return String.format("%s: element %d (row %d, col %d) is %s, expected %s (bit-exact)", what, i,
                        i / Math.max(1, cols), i % Math.max(1, cols), got[i], want[i]);
            }
        }
        return null;
    }

    private static float[] decode(DType dt, byte[] b) {
        int es = dt.byteSize();
        float[] out = new float[b.length / es];
        for (int i = 0; i < out.length; i++) {
            int o = i * es;
            out[i] = switch (dt) {
                case F32 -> Float.intBitsToFloat((b[o] & 0xff) | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16
                        | (b[o + 3] & 0xff) << 24);
                case BF16 -> Numerics.bf16ToF32((short) ((b[o] & 0xff) | (b[o + 1] & 0xff) << 8));
                case F16 -> Numerics.f16ToF32((short) ((b[o] & 0xff) | (b[o + 1] & 0xff) << 8));
                default -> throw new IllegalArgumentException("collective cases use float dtypes, not " + dt);
            };
        }
        return out;
    }

    private static String label(Case c) {
        return c.dtype().name().toLowerCase(Locale.ROOT);
    }

    private static Conformance.CaseResult fail(Case c, String message) {
        return new Conformance.CaseResult(c.name(), label(c), Conformance.Status.FAIL, message);
    }
}
