package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.DeviceMemory;
import dev.jvllm.api.OpGraph;
import dev.jvllm.api.PendingRead;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;
import dev.jvllm.api.ops.*;
import java.lang.foreign.MemorySegment;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The CUDA backend: tensors in device memory from a caching allocator, transfers through pinned
 * staging, every op enqueued on one stream and run by the {@link KernelFamily} that claims it
 * ({@link KernelFamilies#ALL}). {@link #read} and {@link #synchronize} wait for the stream and
 * raise any bad-input error a kernel reported ({@link DeviceErrors}).
 *
 * <p>Used by one thread at a time, but not necessarily always the same one: every entry point makes
 * the device's primary context current on the calling thread first.
 *
 * <p>{@link #capture} records a body of ops into a CUDA graph (stream capture in relaxed mode,
 * {@link CudaGraph}); its allocations come from the allocator's graph pool, cuBLAS works in its own
 * workspace (set when the handle is created), and the host-side entry points ({@link #write},
 * {@link #read}, {@link #synchronize}) refuse to run mid-capture.
 *
 * <p>Fusion by holding ops back ({@link #fusions(String)} says which run): an op that may fuse with the op
 * after it is not enqueued at once but held until the next call. A batch-1 GEMV whose output a gated
 * activation may read ({@link LinearKernels#mayGate}) runs with that activation as its epilogue; a
 * rotary runs with the KV-cache write of its k at any batch ({@link RotaryKernels#runWithCacheWrite});
 * with the norm fold on, a batch-1 RMSNorm ({@link LinearKernels#foldable}) runs inside the GEMV that
 * reads its output ({@link LinearKernels#runFused}). Each pair costs a decode step one launch
 * instead of two. Anything else (another op, a transfer, a synchronize, the end of a capture,
 * closing a tensor, a collective) first enqueues what is held as it would have run. Held ops'
 * tensors stay alive while they are held, since closing one releases them first. The bits are
 * those of the ops run one by one (CudaFusionTest).
 */
public final class CudaBackend implements Backend {
    private final Gpu gpu;
    private final Map<OpKind, KernelFamily> families;
    private final OpProfiler profiler; // null unless -Djvllm.cuda.profile=true
    private final Set<CudaGraph> graphs = new LinkedHashSet<>();
    private boolean capturing;
    private RmsNorm heldNorm;          // a batch-1 norm waiting for the GEMV that reads it, or null
    private Linear heldLinear;         // a batch-1 GEMV (heldNorm folded in, if set) waiting for a gated activation, or null
    private long foldedNorms;          // norms that ran inside a GEMV (tests check the fusion happened)
    private long fusedActivations;     // gated activations that ran inside a GEMV
    private Rotary heldRotary;         // a rotary waiting for the cache write of its k, or null
    private long fusedCacheWrites;     // KV-cache writes that ran inside the rotary launch
    private boolean fuseNorm, fuseGated, fuseRotary; // the fusions that run (fusions(String))
    private CudaGroup.Rank groupRank;  // null unless CudaProvider.createGroup made this backend
    private boolean closed;

    CudaBackend(int device) {
        applyFusions(fusions(System.getProperty("jvllm.cuda.fuse", DEFAULT_FUSIONS))); // a bad list fails first
        this.gpu = new Gpu(this, device);
        this.families = route(KernelFamilies.ALL, gpu);
        this.profiler = OpProfiler.enabled() ? new OpProfiler(gpu.stream()) : null;
    }

    /** Which family runs each op; fails when two families claim one op. */
    static Map<OpKind, KernelFamily> route(java.util.List<Function<Gpu, KernelFamily>> all, Gpu gpu) {
        Map<OpKind, KernelFamily> m = new EnumMap<>(OpKind.class);
        for (Function<Gpu, KernelFamily> make : all) {
            KernelFamily f = make.apply(gpu);
            for (OpKind k : f.ops()) {
                KernelFamily before = m.putIfAbsent(k, f);
                if (before != null) {
                    throw new IllegalStateException("op " + k.id() + " is claimed by both " + before.getClass().getSimpleName()
                            + " and " + f.getClass().getSimpleName() + " (KernelFamilies.ALL)");
                }
            }
        }
        return m;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return gpu.description();
    }

    @Override
    public long memoryCapacity() {
        return gpu.totalMemory();
    }

    /** Makes this backend rank {@code r} of a tensor-parallel group. */
    void join(CudaGroup.Rank r) {
        groupRank = r;
    }

    @Override
    public Communicator communicator() {
        return groupRank != null ? groupRank : Communicator.single();
    }

    /** The device (benchmarks time with its stream). */
    Gpu gpu() {
        return gpu;
    }

    /** Device memory accounting of this backend's allocator. */
    public String memoryStats() {
        return gpu.allocator().stats().toString();
    }

    @Override
    public DeviceMemory deviceMemory() {
        DeviceAllocator.Stats s = gpu.allocator().stats();
        return new DeviceMemory(s.inUse(), s.peak(), s.reserved());
    }

    // ---- memory ----

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        return allocate(dtype, shape, (byte) 0, "allocate (zero fill) ");
    }

    /**
     * No fill, or with {@code -Djvllm.cuda.poisonUninitialized=true} every byte 0xFF (NaN in every float
     * dtype): a test run that way shows an op that leaves part of such an output unwritten.
     */
    @Override
    public Tensor allocateUninitialized(DType dtype, int... shape) {
        return POISON ? allocate(dtype, shape, (byte) 0xFF, "allocate (poison fill) ") : allocate(dtype, shape, null, null);
    }

    private static final boolean POISON = Boolean.getBoolean("jvllm.cuda.poisonUninitialized");

    /**
     * The fusions on by default. Not the norm: every GEMV block redoing the norm costs more than the
     * kernel it saves (an H200 replayed a batch-1 step in 0.921 ms without it, 0.996 ms with it in run
     * 9; 0.864 against 0.923 in run 19; docs/performance.md).
     */
    private static final String DEFAULT_FUSIONS = "gated,rotary";

    /** Sets which fusions run from now on (tests; see {@link #fusions(String)}); releases what is held first. */
    void fusions(Set<String> on) {
        releaseHeld();
        applyFusions(on);
    }

    private void applyFusions(Set<String> on) {
        fuseNorm = on.contains("norm");
        fuseGated = on.contains("gated");
        fuseRotary = on.contains("rotary");
    }

    /**
     * Which fusions of held ops run (see the class comment), from {@code -Djvllm.cuda.fuse=}: a comma
     * list of {@code norm} (norm into the GEMV after it), {@code gated} (gated activation into the GEMV
     * before it), {@code rotary} (KV-cache write into the rotary before it), or {@code all} /
     * {@code none}; an unknown name fails the backend's creation, naming it.
     */
    static Set<String> fusions(String spec) {
        Set<String> all = Set.of("norm", "gated", "rotary");
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("all") || s.equals("true")) {
            return all;
        }
        Set<String> on = new java.util.TreeSet<>();
        for (String part : s.split(",")) {
            String p = part.trim();
            if (p.isEmpty() || p.equals("none") || p.equals("false")) {
                continue;
            }
            if (!all.contains(p)) {
                throw new IllegalArgumentException("-Djvllm.cuda.fuse=" + spec + ": unknown fusion '" + p
                        + "'; give a comma list of norm, gated, rotary, or all / none");
            }
            on.add(p);
        }
        return Set.copyOf(on);
    }

    /** A block of the pool, filled with {@code fill} (none when null). */
    private Tensor allocate(DType dtype, int[] shape, Byte fill, String what) {
        open();
        TensorLayout layout = TensorLayout.contiguous(dtype, shape);
        long bytes = layout.numel() * dtype.byteSize();
        gpu.makeCurrent();
        DeviceAllocator.Block block = gpu.allocator().allocate(bytes);
        if (fill != null) {
            if (profiler != null) {
                profiler.begin();
            }
            Driver.memsetAsync(block.pointer, fill, Math.max(bytes, 1), gpu.stream());
            if (profiler != null) {
                profiler.end(what + java.util.Arrays.toString(shape));
            }
        }
        return new CudaTensor(this, block, layout, true);
    }

    void free(DeviceAllocator.Block block) {
        releaseHeld();
        gpu.allocator().free(block);
    }

    @Override
    public void write(Tensor dst, MemorySegment src) {
        openOutsideCapture("write");
        CudaTensor d = gpu.tensor(dst);
        long need = dst.numel() * dst.dtype().byteSize();
        if (src.byteSize() < need) {
            throw new IllegalArgumentException("write: source has " + src.byteSize() + " bytes, " + dst.describe()
                    + " needs " + need);
        }
        releaseHeld();
        gpu.makeCurrent();
        if (profiler != null) {
            profiler.begin();
        }
        gpu.staging().upload(src, d.address(), d.layout());
        if (profiler != null) {
            profiler.end("write (upload) " + java.util.Arrays.toString(dst.shape()));
        }
    }

    @Override
    public void read(Tensor src, MemorySegment dst) {
        openOutsideCapture("read");
        CudaTensor s = gpu.tensor(src);
        long need = src.numel() * src.dtype().byteSize();
        if (dst.byteSize() < need) {
            throw new IllegalArgumentException("read: destination has " + dst.byteSize() + " bytes, " + src.describe()
                    + " needs " + need);
        }
        releaseHeld();
        gpu.makeCurrent();
        gpu.synchronizeAndDownload(s.address(), s.layout(), dst);
        if (profiler != null) {
            profiler.collect();
        }
    }

    /**
     * Enqueues the copy into a pinned slot and returns at once ({@link Gpu#downloadLater}) for a
     * contiguous tensor of at most {@link Gpu#LATER_MAX_BYTES}; any other is read now.
     */
    @Override
    public PendingRead readLater(Tensor src) {
        openOutsideCapture("read");
        CudaTensor s = gpu.tensor(src);
        long bytes = s.numel() * s.dtype().byteSize();
        if (!s.isContiguous() || bytes == 0 || bytes > Gpu.LATER_MAX_BYTES) {
            return Backend.super.readLater(src);
        }
        releaseHeld();
        return gpu.downloadLater(s.address(), bytes);
    }

    @Override
    public void synchronize() {
        openOutsideCapture("synchronize");
        releaseHeld();
        gpu.synchronize();
        if (profiler != null) {
            profiler.collect();
        }
    }

    @Override
    public void close() {
        if (!closed) {
            try {
                releaseHeld();
            } catch (RuntimeException e) {
                dropHeld(); // closing anyway
            }
            for (CudaGraph g : java.util.List.copyOf(graphs)) {
                g.close();
            }
            closed = true;
            try {
                if (groupRank != null) {
                    groupRank.leave();
                }
                if (profiler != null) {
                    gpu.synchronize();
                    profiler.collect();
                    if (!profiler.isEmpty()) {
                        System.err.print("cuda profile (-D" + OpProfiler.PROPERTY + "):\n" + profiler.report());
                    }
                    profiler.close();
                }
            } finally {
                gpu.close();
            }
        }
    }

    private void open() {
        if (closed) {
            throw new IllegalStateException("the cuda backend is closed");
        }
    }

    private void openOutsideCapture(String call) {
        open();
        if (capturing) {
            throw new IllegalStateException(call + " during a graph capture: a replay could not repeat the host's"
                    + " part; move it before the capture (write the graph's input tensors before each replay) or after"
                    + " it (read the outputs after the replay)");
        }
    }

    // ---- capture ----

    /** Whether ops are being recorded into a graph now. */
    boolean capturing() {
        return capturing;
    }

    /** False while {@code -Djvllm.cuda.profile} is on: it times ops one by one, which a graph hides. */
    @Override
    public boolean canCapture() {
        return profiler == null;
    }

    @Override
    public OpGraph capture(Runnable body) {
        openOutsideCapture("capture");
        releaseHeld();
        if (!canCapture()) {
            throw new UnsupportedOperationException("cuda: no graph capture while -D" + OpProfiler.PROPERTY
                    + " times ops one by one");
        }
        gpu.makeCurrent();
        gpu.cublas(); // creating the handle and its workspace allocates and waits: not inside the capture
        gpu.allocator().beginCapture();
        Throwable failure = null;
        MemorySegment graph = null;
        MemorySegment exec = null;
        try {
            Driver.streamBeginCapture(gpu.stream(), Driver.STREAM_CAPTURE_MODE_RELAXED);
            capturing = true;
            try {
                body.run();
                releaseHeld(); // into the graph
            } catch (Throwable t) {
                failure = t;
            } finally {
                dropHeld(); // after a failed body: nothing of it runs
                capturing = false;
                try {
                    graph = Driver.streamEndCapture(gpu.stream());
                } catch (RuntimeException e) {
                    failure = chain(failure, e);
                }
            }
            if (failure == null) {
                exec = Driver.graphInstantiate(graph);
            }
        } catch (RuntimeException e) {
            failure = chain(failure, e);
        } finally {
            try {
                if (graph != null && !graph.equals(MemorySegment.NULL)) {
                    Driver.graphDestroy(graph);
                }
            } finally {
                gpu.allocator().endCapture(failure == null);
            }
        }
        if (failure != null) {
            throw Driver.rethrow(failure);
        }
        CudaGraph g = new CudaGraph(this, exec);
        graphs.add(g);
        return g;
    }

    private static Throwable chain(Throwable first, RuntimeException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    /** One replay of a graph of this backend ({@link CudaGraph#replay}). */
    void launch(MemorySegment exec) {
        openOutsideCapture("replay");
        releaseHeld();
        gpu.makeCurrent();
        Driver.graphLaunch(exec, gpu.stream());
    }

    /** Destroys a graph of this backend ({@link CudaGraph#close}); its workspace returns as {@link DeviceAllocator} says. */
    void release(CudaGraph g, MemorySegment exec) {
        if (graphs.remove(g) && !closed) {
            gpu.makeCurrent();
            try {
                Driver.graphExecDestroy(exec);
            } finally {
                gpu.allocator().graphReleased();
            }
        }
    }

    /** Bytes the allocator holds free for live graphs' workspace (tests check it does not grow per replay). */
    long graphPoolBytes() {
        return gpu.allocator().graphPoolBytes();
    }

    // ---- ops ----

    @Override
    public boolean supports(OpArgs args) {
        KernelFamily f = families.get(args.kind());
        try {
            return f != null && f.supports(args);
        } catch (RuntimeException e) {
            return false;
        }
    }

    private void dispatch(OpArgs args) {
        open();
        releaseHeld();
        KernelFamily f = families.get(args.kind());
        if (f == null) {
            throw new UnsupportedOperationException("cuda: " + args.kind().id() + " has no CUDA kernel yet");
        }
        if (!supports(args)) {
            throw new UnsupportedOperationException("cuda: " + args.kind().id() + " is not supported for these"
                    + " arguments yet: " + abbreviate(args.toString()));
        }
        gpu.makeCurrent();
        if (profiler == null) {
            f.run(args);
            return;
        }
        profiler.begin();
        f.run(args);
        profiler.end(args.kind().id() + " " + (args.outputs().isEmpty() ? "[]"
                : java.util.Arrays.toString(args.outputs().getFirst().shape())));
    }

    private static String abbreviate(String s) {
        return s.length() <= 400 ? s : s.substring(0, 400) + "...";
    }

    /** The message of a device-reported error, by the family that owns the op. */
    String describeDeviceError(OpKind op, int detail, int a, int b, int c) {
        KernelFamily f = families.get(op);
        return f != null ? f.describeError(op, detail, a, b, c)
                : op.id() + ": a kernel reported bad input (" + detail + ", " + a + ", " + b + ", " + c + ")";
    }

    @Override
    public void copy(Copy a) {
        dispatch(a);
    }

    @Override
    public void cast(Cast a) {
        dispatch(a);
    }

    @Override
    public void gatherRows(GatherRows a) {
        dispatch(a);
    }

    @Override
    public void fill(Fill a) {
        dispatch(a);
    }

    @Override
    public void binary(Binary a) {
        dispatch(a);
    }

    @Override
    public void scale(Scale a) {
        dispatch(a);
    }

    @Override
    public void activation(Activation a) {
        dispatch(a);
    }

    @Override
    public void embedding(Embedding a) {
        dispatch(a);
    }

    @Override
    public void linear(Linear a) {
        open();
        RmsNorm norm = heldNorm;
        if (heldLinear != null || heldRotary != null) { // held for another op: they run first (with any norm)
            releaseHeld();
            norm = null;
        }
        LinearKernels k = linearKernels();
        if (profiler == null && a.x().dim(0) == 1 && k.canFuse(norm, a, null)) {
            if (fuseGated && k.mayGate(a)) {
                heldLinear = a; // heldNorm (if any) stays: both wait for the next op
                return;
            }
            heldNorm = null;
            runFused(norm, a, null);
            return;
        }
        dispatch(a); // releases the norm first
    }

    @Override
    public void rmsNorm(RmsNorm a) {
        open();
        releaseHeld();
        if (fuseNorm && profiler == null && supports(a) && linearKernels().foldable(a)) {
            heldNorm = a;
            return;
        }
        dispatch(a);
    }

    @Override
    public void gatedActivation(GatedActivation a) {
        open();
        Linear lin = heldLinear;
        if (lin != null && linearKernels().canFuse(heldNorm, lin, a)) {
            runHeldLinear(a);
            return;
        }
        dispatch(a);
    }

    /** Enqueues the held ops, if any, as they would have run without waiting (see the class comment). */
    void releaseHeld() {
        Rotary r = heldRotary;
        if (r != null) {
            heldRotary = null;
            dispatch(r);
        }
        if (heldLinear != null) {
            runHeldLinear(null); // canFuse accepted it (and the held norm, if any) when it was held
        }
        RmsNorm norm = heldNorm;
        if (norm != null) {
            heldNorm = null;
            dispatch(norm);
        }
    }

    /** Forgets the held ops without running them. */
    private void dropHeld() {
        heldNorm = null;
        heldLinear = null;
        heldRotary = null;
    }

    /** Runs the held GEMV, with the held norm (if any) and {@code gated} (if given) in its kernel. */
    private void runHeldLinear(GatedActivation gated) {
        RmsNorm norm = heldNorm;
        Linear lin = heldLinear;
        heldLinear = null;
        heldNorm = null;
        runFused(norm, lin, gated);
    }

    private void runFused(RmsNorm norm, Linear lin, GatedActivation gated) {
        gpu.makeCurrent();
        linearKernels().runFused(norm, lin, gated);
        if (norm != null) {
            foldedNorms++;
        }
        if (gated != null) {
            fusedActivations++;
        }
    }

    /** How many norms have run folded into the GEMV after them. */
    long foldedNorms() {
        return foldedNorms;
    }

    /** How many gated activations have run as the epilogue of the GEMV before them. */
    long fusedActivations() {
        return fusedActivations;
    }

    /** How many KV-cache writes have run inside the rotary launch before them. */
    long fusedCacheWrites() {
        return fusedCacheWrites;
    }

    private RotaryKernels rotaryKernels() {
        return (RotaryKernels) families.get(OpKind.ROTARY);
    }

    /** The batch-1 GEMV's weights through its shared-memory ring or registers (tests compare the two). */
    void useGemvRing(boolean on) {
        linearKernels().useRing(on);
    }

    private LinearKernels linearKernels() {
        return (LinearKernels) families.get(OpKind.LINEAR);
    }

    @Override
    public void layerNorm(LayerNorm a) {
        dispatch(a);
    }

    @Override
    public void gatedRmsNorm(GatedRmsNorm a) {
        dispatch(a);
    }

    @Override
    public void rotary(Rotary a) {
        open();
        releaseHeld();
        if (fuseRotary && profiler == null && a.k() != null && supports(a)) {
            heldRotary = a;
            return;
        }
        dispatch(a);
    }

    @Override
    public void kvCacheWrite(KvCacheWrite a) {
        open();
        Rotary r = heldRotary;
        if (r != null && supports(a) && rotaryKernels().canFuse(r, a)) {
            heldRotary = null;
            gpu.makeCurrent();
            rotaryKernels().runWithCacheWrite(r, a);
            fusedCacheWrites++;
            return;
        }
        dispatch(a);
    }

    @Override
    public void pagedAttention(PagedAttention a) {
        dispatch(a);
    }

    @Override
    public void causalConv1d(CausalConv1d a) {
        dispatch(a);
    }

    @Override
    public void causalConv1dUpdate(CausalConv1dUpdate a) {
        dispatch(a);
    }

    @Override
    public void selectiveScan(SelectiveScan a) {
        dispatch(a);
    }

    @Override
    public void selectiveStateUpdate(SelectiveStateUpdate a) {
        dispatch(a);
    }

    @Override
    public void ssdChunkScan(SsdChunkScan a) {
        dispatch(a);
    }

    @Override
    public void ssdStateUpdate(SsdStateUpdate a) {
        dispatch(a);
    }

    @Override
    public void shortConv(ShortConv a) {
        dispatch(a);
    }

    @Override
    public void linearAttention(LinearAttention a) {
        dispatch(a);
    }

    @Override
    public void moeRouting(MoeRouting a) {
        dispatch(a);
    }

    @Override
    public void moeExperts(MoeExperts a) {
        dispatch(a);
    }

    @Override
    public void argmax(Argmax a) {
        dispatch(a);
    }

    @Override
    public void sample(Sample a) {
        dispatch(a);
    }

    @Override
    public void penalties(Penalties a) {
        dispatch(a);
    }

    @Override
    public void topLogprobs(TopLogprobs a) {
        dispatch(a);
    }
}
