package dev.jvllm.conformance;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.OpArgs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Builds one case's tensors on one backend from a seed: random inputs (identical on every backend
 * for the same seed and call order), outputs wrapped in canaries, and states whose initial bytes
 * are remembered so untouched slots can be checked. Owns everything it allocates.
 */
public final class CaseBuilder implements AutoCloseable {
    /** Every guard byte, and every output byte before the op runs. */
    public static final byte CANARY = 0x7F;
    /** Extra columns right of each guarded output row (odd, to break vector alignment). */
    static final int GUARD_COLS = 3;

    private final Backend backend;
    private final SplittableRandom random;
    private final List<Tensor> owned = new ArrayList<>();
    private final List<Guard> guards = new ArrayList<>();
    private final Map<Tensor, byte[]> initial = new IdentityHashMap<>();

    /** A guarded buffer: the parent allocation and the view the op sees. */
    record Guard(Tensor parent, Tensor view) {
    }

    public CaseBuilder(Backend backend, long seed) {
        this.backend = backend;
        this.random = new SplittableRandom(seed);
    }

    public Backend backend() {
        return backend;
    }

    /** The case's random source; draw from it in the same order on every backend. */
    public SplittableRandom random() {
        return random;
    }

    /** Uniform random values in [lo, hi). */
    public float[] uniform(int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * random.nextDouble());
        }
        return v;
    }

    /** An input tensor of uniform random values in [lo, hi), rounded to dtype. */
    public Tensor input(DType dtype, double lo, double hi, int... shape) {
        return input(dtype, uniform(Math.toIntExact(count(shape)), lo, hi), shape);
    }

    /** An input tensor holding these values (rounded to dtype). */
    public Tensor input(DType dtype, float[] values, int... shape) {
        return own(Tensors.fromFloats(backend, dtype, values, shape));
    }

    /** An I32 input. */
    public Tensor ints(int[] values, int... shape) {
        return own(Tensors.fromInts(backend, values, shape));
    }

    /** An I64 input. */
    public Tensor longs(long[] values, int... shape) {
        return own(Tensors.fromLongs(backend, values, shape));
    }

    /** A raw-byte input (I8, U8, F8_E4M3). */
    public Tensor bytes(DType dtype, byte[] values, int... shape) {
        return own(Tensors.fromBytes(backend, dtype, values, shape));
    }

    /**
     * An output the op must fully write: a strided view inside a larger buffer with a canary row
     * above, one below and {@value #GUARD_COLS} canary columns right of every row. Its own elements
     * start as canaries too, so an element the op forgets shows up in the comparison.
     */
    public Tensor output(DType dtype, int... shape) {
        int cols = shape[shape.length - 1];
        int rows = Math.toIntExact(count(shape) / Math.max(1, cols));
        if (cols == 0) {
            rows = Math.toIntExact(rowsOf(shape));
        }
        Tensor parent = canaryFilled(dtype, rows + 2, cols + GUARD_COLS);
        Tensor view = parent.slice(1, rows).narrowLast(0, cols).reshape(shape);
        guards.add(new Guard(parent, view));
        return view;
    }

    /**
     * A contiguous output or state (caches and state pools must be contiguous): canary rows
     * before and after, initial contents random in [lo, hi) when {@code lo < hi}, else canaries.
     * Its initial bytes are remembered for {@link Checked#untouchedSlots()}.
     */
    public Tensor state(DType dtype, double lo, double hi, int... shape) {
        long n = count(shape);
        int cols = shape[shape.length - 1];
        long rows = rowsOf(shape);
        int pad = Math.toIntExact(Math.max(1, (64 + (long) cols - 1) / Math.max(1, cols)));
        Tensor parent = canaryFilled(dtype, Math.toIntExact(rows + 2L * pad), cols);
        Tensor view = parent.slice(pad, Math.toIntExact(rows)).reshape(shape);
        if (lo < hi) {
            Tensors.writeFloats(view, uniform(Math.toIntExact(n), lo, hi));
        }
        guards.add(new Guard(parent, view));
        initial.put(view, Tensors.toBytes(view));
        return view;
    }

    /** A state of integers or raw bytes initialised from these values (remembered like {@link #state}). */
    public Tensor stateInts(int[] values, int... shape) {
        Tensor t = state(DType.I32, 0, 0, shape);
        Tensors.writeInts(t, values);
        initial.put(t, Tensors.toBytes(t));
        return t;
    }

    /** The bytes a {@link #state} tensor held before the op ran, or null. */
    public byte[] initialBytes(Tensor t) {
        return initial.get(t);
    }

    /** Wraps up the case. */
    public Instance build(OpArgs args, Checked... outputs) {
        return new Instance(args, List.of(outputs), this);
    }

    /**
     * Checks every guard region is still all canaries.
     *
     * @return null when intact, else a description of the first overwritten guard byte
     */
    public String guardViolation() {
        for (Guard g : guards) {
            byte[] all = Tensors.toBytes(g.parent());
            int es = g.parent().dtype().byteSize();
            long parentCols = g.parent().cols();
            long viewStartElem = g.view().layout().offset() - g.parent().layout().offset();
            long viewRows = g.view().rows();
            long viewCols = g.view().cols();
            long viewStride = g.view().layout().rowStride();
            for (long e = 0; e < all.length / es; e++) {
                long rel = e - viewStartElem;
                boolean inView = false;
                if (rel >= 0 && viewCols > 0) {
                    long r = rel / viewStride;
                    long c = rel % viewStride;
                    inView = r < viewRows && c < viewCols;
                }
                if (inView) {
                    continue;
                }
                for (int k = 0; k < es; k++) {
                    if (all[(int) (e * es + k)] != CANARY) {
                        return "guard element " + e + " (row " + (e / parentCols) + ", col " + (e % parentCols)
                                + ") around output " + g.view().describe() + " was overwritten";
                    }
                }
            }
        }
        return null;
    }

    private Tensor canaryFilled(DType dtype, int rows, int cols) {
        Tensor parent = own(backend.allocate(dtype, rows, cols));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(1, (long) rows * cols * dtype.byteSize()));
            seg.fill(CANARY);
            backend.write(parent, seg);
        }
        return parent;
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    private static long count(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    private static long rowsOf(int[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length - 1; i++) {
            n *= shape[i];
        }
        return n;
    }

    @Override
    public void close() {
        for (Tensor t : owned) {
            t.close();
        }
        owned.clear();
    }

    @Override
    public String toString() {
        return "CaseBuilder[" + backend.name() + ", " + owned.size() + " tensors, guards " + guards.size()
                + ", states " + Arrays.toString(initial.keySet().stream().map(Tensor::describe).toArray()) + "]";
    }
}
