package dev.jvllm.api;

import dev.jvllm.api.ops.*;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A device that holds tensors and runs the op catalog (DESIGN.md §3).
 *
 * <p>One method per op, each taking one immutable args record (package {@code dev.jvllm.api.ops})
 * whose Javadoc states the math, the accumulation and the cast order. The CPU reference backend
 * ({@code reference-cpu}) is the executable specification; other backends prove themselves against
 * it with the conformance suite ({@code conformance-tests}).
 *
 * <p>Ops may run asynchronously in submission order (a CUDA stream); {@link #read} and
 * {@link #synchronize} wait. A backend instance is used by one thread at a time.
 *
 * <p>New ops arrive as default methods that throw {@link UnsupportedOperationException}, so
 * existing backends keep compiling; {@link #supports} must then answer false for them.
 */
public interface Backend extends AutoCloseable {

    /** The provider name ("cpu", "cuda"). */
    String name();

    /** A one-line description of the device for reports ("cpu: 2 threads, AVX2 (256-bit vectors)"). */
    String description();

    // ---- memory ----

    /** A new zero-filled contiguous tensor. */
    Tensor allocate(DType dtype, int... shape);

    /**
     * A new contiguous tensor whose contents are unspecified, for the output of an op that writes
     * every element of it (a linear's, an activation's, attention's). A GPU backend skips the zero
     * fill (on CUDA a memset per allocation: four per decoder layer of a decode step); the default
     * zero-fills, as {@link #allocate}.
     */
    default Tensor allocateUninitialized(DType dtype, int... shape) {
        return allocate(dtype, shape);
    }

    /**
     * Copies host memory into {@code dst}. {@code src} holds {@code dst.numel()} elements in dst's
     * dtype, contiguous, little-endian; dst may be a strided view.
     */
    void write(Tensor dst, MemorySegment src);

    /** Copies {@code src} to host memory as contiguous little-endian elements, waiting for pending ops. */
    void read(Tensor src, MemorySegment dst);

    /**
     * Starts a {@link #read} of {@code src} that returns before the bytes arrive, so the caller can
     * enqueue more ops first (an engine's next decode step, while this one's tokens travel); the
     * tensor may be closed once this returns. The default reads at once; the CUDA backend enqueues
     * the copy into pinned memory and waits for nothing until {@link PendingRead#await}.
     */
    default PendingRead readLater(Tensor src) {
        MemorySegment bytes = java.lang.foreign.Arena.ofAuto().allocate(Math.max(1, src.numel() * src.dtype().byteSize()));
        read(src, bytes);
        return PendingRead.done(bytes.asSlice(0, src.numel() * src.dtype().byteSize()));
    }

    /**
     * A tensor over host memory the caller keeps alive (e.g. a memory-mapped safetensors region),
     * used in place when the backend can (the CPU backend does, for every dtype), copied to the
     * device otherwise.
     */
    default Tensor wrap(MemorySegment host, DType dtype, int... shape) {
        Tensor t = allocate(dtype, shape);
        write(t, host);
        return t;
    }

    /**
     * Whether {@link #wrap} uses host memory in place (the CPU backend) rather than copying it to
     * the device. Model layers keep separately stored weights apart where it does (a memory-mapped
     * checkpoint stays mapped) and may fuse them where it does not (the copy exists anyway).
     */
    default boolean wrapsInPlace() {
        return false;
    }

    /**
     * The device's total memory in bytes (the machine's physical memory for a CPU backend), or −1
     * when unknown. The engine sizes a KV cache given as a fraction of memory from it.
     */
    default long memoryCapacity() {
        return -1;
    }

    /**
     * The device memory this backend holds for tensors, or null for a backend whose tensors live in
     * host memory (the process's resident set measures those).
     */
    default DeviceMemory deviceMemory() {
        return null;
    }

    /** Waits until every submitted op has finished. */
    default void synchronize() {
    }

    /** The communicator of this backend's tensor-parallel group (a group of one unless created by a provider). */
    default Communicator communicator() {
        return Communicator.single();
    }

    // ---- capture ----

    /**
     * Whether {@link #capture} records op bodies here (false on the CPU, where an op call costs no
     * more than the op: callers run eagerly instead).
     */
    default boolean canCapture() {
        return false;
    }

    /**
     * Records the ops {@code body} submits into a graph instead of running them (nothing runs until
     * {@link OpGraph#replay}). What the body may do:
     * <ul>
     *   <li>call ops and allocate, view and close tensors. A tensor the body allocates keeps its
     *       storage for every replay while the graph lives; those it leaves open are the graph's
     *       outputs (the caller closes them), the contents of which each replay rewrites;</li>
     *   <li>read tensors allocated before the capture, which the caller keeps open while the graph
     *       lives: each replay reads their contents at that time;</li>
     *   <li>not {@link #write}, {@link #read}, {@link #synchronize} or anything else that involves the
     *       host mid-body (a replay could not repeat it): those throw, and the capture fails.</li>
     * </ul>
     * Ops whose launch configuration depends on host arguments (e.g. attention's declared
     * {@code maxSeqLen}) keep the configuration of the capture, so callers declare bounds that hold
     * for every replay. A replay of one graph may overwrite the workspace (not the outputs) of other
     * graphs of this backend. On failure nothing is left captured and the backend runs eagerly as
     * before; the exception says why.
     *
     * @throws UnsupportedOperationException when {@link #canCapture} is false
     */
    default OpGraph capture(Runnable body) {
        throw new UnsupportedOperationException(name() + " does not capture op graphs; run the ops eagerly");
    }

    /** Releases the device and everything allocated on it. */
    @Override
    void close();

    // ---- capability ----

    /**
     * Whether this backend runs the op with these arguments. A pure function of dtypes, shapes and
     * flags: no data is read and nothing runs. Harnesses report "unsupported" instead of failing.
     */
    boolean supports(OpArgs args);

    /** Runs any op through its method (harnesses use this to iterate generically). */
    default void run(OpArgs args) {
        switch (args) {
            case Copy a -> copy(a);
            case Cast a -> cast(a);
            case GatherRows a -> gatherRows(a);
            case Fill a -> fill(a);
            case Binary a -> binary(a);
            case Scale a -> scale(a);
            case Activation a -> activation(a);
            case GatedActivation a -> gatedActivation(a);
            case Embedding a -> embedding(a);
            case Linear a -> linear(a);
            case RmsNorm a -> rmsNorm(a);
            case LayerNorm a -> layerNorm(a);
            case GatedRmsNorm a -> gatedRmsNorm(a);
            case Rotary a -> rotary(a);
            case KvCacheWrite a -> kvCacheWrite(a);
            case PagedAttention a -> pagedAttention(a);
            case CausalConv1d a -> causalConv1d(a);
            case CausalConv1dUpdate a -> causalConv1dUpdate(a);
            case SelectiveScan a -> selectiveScan(a);
            case SelectiveStateUpdate a -> selectiveStateUpdate(a);
            case SsdChunkScan a -> ssdChunkScan(a);
            case SsdStateUpdate a -> ssdStateUpdate(a);
            case ShortConv a -> shortConv(a);
            case LinearAttention a -> linearAttention(a);
            case MoeRouting a -> moeRouting(a);
            case MoeExperts a -> moeExperts(a);
            case Argmax a -> argmax(a);
            case Sample a -> sample(a);
            case Penalties a -> penalties(a);
            case TopLogprobs a -> topLogprobs(a);
        }
    }

    // ---- data ----
    /** See {@link Copy}. */
    void copy(Copy a);
    /** See {@link Cast}. */
    void cast(Cast a);
    /** See {@link GatherRows}. */
    void gatherRows(GatherRows a);
    /** See {@link Fill}. */
    void fill(Fill a);

    // ---- elementwise ----
    /** See {@link Binary}. */
    void binary(Binary a);
    /** See {@link Scale}. */
    void scale(Scale a);
    /** See {@link Activation}. */
    void activation(Activation a);
    /** See {@link GatedActivation}. */
    void gatedActivation(GatedActivation a);

    // ---- embedding, linear ----
    /** See {@link Embedding}. */
    void embedding(Embedding a);
    /** See {@link Linear} and {@link LinearWeight}. */
    void linear(Linear a);

    /**
     * Several {@link Linear} ops as one unit of work, with the result of calling {@link #linear} on
     * each in list order: what a layer stored as several weights (q/k/v, gate/up) runs for one x,
     * each op writing its own columns of the output. No op may write memory that another op of the
     * list reads (its x, weight or bias), so a backend may run them in any order or together: the
     * CPU backend runs a decode's shards as one parallel region instead of one per shard.
     *
     * @implSpec calls {@link #linear} for each op, in order. Override only to run them together;
     * every op keeps its own numerics (a fused run must give each op's bits as if run alone, where
     * the backend's {@code linear} is deterministic). A wrapper that intercepts {@code linear}
     * (a profiler, a test double) sees the ops here instead: intercept this method too.
     */
    default void linears(List<Linear> ops) {
        for (Linear op : ops) {
            linear(op);
        }
    }

    // ---- norms ----
    /** See {@link RmsNorm}. */
    void rmsNorm(RmsNorm a);
    /** See {@link LayerNorm}. */
    void layerNorm(LayerNorm a);
    /** See {@link GatedRmsNorm}. */
    void gatedRmsNorm(GatedRmsNorm a);

    // ---- rotary, attention ----
    /** See {@link Rotary}. */
    void rotary(Rotary a);
    /** See {@link KvCacheWrite}. */
    void kvCacheWrite(KvCacheWrite a);
    /** See {@link PagedAttention}. */
    void pagedAttention(PagedAttention a);

    // ---- state-space ----
    /** See {@link CausalConv1d}. */
    void causalConv1d(CausalConv1d a);
    /** See {@link CausalConv1dUpdate}. */
    void causalConv1dUpdate(CausalConv1dUpdate a);
    /** See {@link SelectiveScan}. */
    void selectiveScan(SelectiveScan a);
    /** See {@link SelectiveStateUpdate}. */
    void selectiveStateUpdate(SelectiveStateUpdate a);
    /** See {@link SsdChunkScan}. */
    void ssdChunkScan(SsdChunkScan a);
    /** See {@link SsdStateUpdate}. */
    void ssdStateUpdate(SsdStateUpdate a);
    /** See {@link ShortConv}. */
    void shortConv(ShortConv a);
    /** See {@link LinearAttention}. */
    void linearAttention(LinearAttention a);

    // ---- MoE ----
    /** See {@link MoeRouting}. */
    void moeRouting(MoeRouting a);
    /** See {@link MoeExperts}. */
    void moeExperts(MoeExperts a);

    // ---- sampling ----
    /** See {@link Argmax}. */
    void argmax(Argmax a);
    /** See {@link Sample}. */
    void sample(Sample a);
    /** See {@link Penalties}. */
    void penalties(Penalties a);
    /** See {@link TopLogprobs}. */
    void topLogprobs(TopLogprobs a);
}
