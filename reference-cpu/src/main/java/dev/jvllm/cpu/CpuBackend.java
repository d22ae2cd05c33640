package dev.jvllm.cpu;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.TensorLayout;
import dev.jvllm.api.ops.*;
import dev.jvllm.cpu.ops.*;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPU reference backend: Vector API kernels on one worker pool, deterministic for any thread
 * count, with a scalar form of every op (see {@link CpuContext}). Tensors live in host memory;
 * {@link #wrap} uses memory-mapped weights in place.
 */
public final class CpuBackend implements Backend {
    private final CpuContext ctx;
    private Communicator communicator = Communicator.single();
    /** Freed activations are kept for reuse up to this many bytes (option {@code memory_pool_bytes}). */
    static final long DEFAULT_POOL_BYTES = 1L << 30;
    private final HostMemoryPool memory;

    CpuBackend(CpuContext ctx, BackendOptions options) {
        this.ctx = ctx;
        String pool = options.extra().getOrDefault("memory_pool_bytes", String.valueOf(DEFAULT_POOL_BYTES));
        try {
            this.memory = new HostMemoryPool(Long.parseLong(pool));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cpu backend option memory_pool_bytes=\"" + pool
                    + "\" is not a byte count (e.g. 1073741824; 0 keeps no freed memory)");
        }
    }

    /** A backend with default options (tests and tools). */
    public static CpuBackend create() {
        return create(BackendOptions.defaults());
    }

    /** A backend with these options. */
    public static CpuBackend create(BackendOptions options) {
        return new CpuBackend(CpuContext.create(options), options);
    }

    static List<Backend> createGroup(int worldSize, BackendOptions options) {
        if (worldSize < 1) {
            throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
        }
        List<Communicator> comms = InProcessGroup.create(worldSize);
        List<Backend> out = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            CpuBackend b = new CpuBackend(CpuContext.create(options), options);
            b.communicator = comms.get(r);
            out.add(b);
        }
        return List.copyOf(out);
    }

    /** The kernels' context: pool and scalar flag. */
    public CpuContext context() {
        return ctx;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String description() {
        return "cpu: " + ctx.threads() + " threads, " + (ctx.scalar() ? "scalar form" : "Vector API "
                + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit");
    }

    @Override
    public long memoryCapacity() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os ? os.getTotalMemorySize() : -1;
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        TensorLayout layout = TensorLayout.contiguous(dtype, shape);
        long bytes = Math.max(1, layout.numel() * dtype.byteSize());
        HostMemoryPool.Block block = memory.take(bytes);
        return new CpuTensor(this, block.segment().asSlice(0, bytes), layout,
                new CpuTensor.Lifetime(() -> memory.give(block)));
    }

    @Override
    public void write(Tensor dst, MemorySegment src) {
        CpuTensor d = CpuTensor.of(dst);
        long rowBytes = (long) dst.cols() * dst.dtype().byteSize();
        long need = dst.numel() * dst.dtype().byteSize();
        if (src.byteSize() < need) {
            throw new IllegalArgumentException("write: source has " + src.byteSize() + " bytes, " + dst.describe()
                    + " needs " + need);
        }
        long rows = dst.rows();
        for (long r = 0; r < rows; r++) {
            MemorySegment.copy(src, r * rowBytes, d.storage(), d.layout().rowByteOffset(r), rowBytes);
        }
    }

    @Override
    public void read(Tensor src, MemorySegment dst) {
        CpuTensor s = CpuTensor.of(src);
        long rowBytes = (long) src.cols() * src.dtype().byteSize();
        long need = src.numel() * src.dtype().byteSize();
        if (dst.byteSize() < need) {
            throw new IllegalArgumentException("read: destination has " + dst.byteSize() + " bytes, "
                    + src.describe() + " needs " + need);
        }
        long rows = src.rows();
        for (long r = 0; r < rows; r++) {
            MemorySegment.copy(s.storage(), s.layout().rowByteOffset(r), dst, r * rowBytes, rowBytes);
        }
    }

    /** Uses the host memory in place (zero copy): memory-mapped weights stay mapped. */
    @Override
    public boolean wrapsInPlace() {
        return true;
    }

    @Override
    public Tensor wrap(MemorySegment host, DType dtype, int... shape) {
        return new CpuTensor(this, host, TensorLayout.contiguous(dtype, shape), null);
    }

    @Override
    public Communicator communicator() {
        return communicator;
    }

    @Override
    public void close() {
        ctx.pool().close();
        memory.close();
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case Copy x -> CopyKernel.supports(x);
            case Cast x -> CastKernel.supports(x);
            case GatherRows x -> GatherRowsKernel.supports(x);
            case Fill x -> FillKernel.supports(x);
            case Binary x -> BinaryKernel.supports(x);
            case Scale x -> ScaleKernel.supports(x);
            case Activation x -> ActivationKernel.supports(x);
            case GatedActivation x -> GatedActivationKernel.supports(x);
            case Embedding x -> EmbeddingKernel.supports(x);
            case Linear x -> LinearKernel.supports(x);
            case RmsNorm x -> RmsNormKernel.supports(x);
            case LayerNorm x -> LayerNormKernel.supports(x);
            case GatedRmsNorm x -> GatedRmsNormKernel.supports(x);
            case Rotary x -> RotaryKernel.supports(x);
            case KvCacheWrite x -> KvCacheWriteKernel.supports(x);
            case PagedAttention x -> PagedAttentionKernel.supports(x);
            case CausalConv1d x -> CausalConv1dKernel.supports(x);
            case CausalConv1dUpdate x -> CausalConv1dUpdateKernel.supports(x);
            case SelectiveScan x -> SelectiveScanKernel.supports(x);
            case SelectiveStateUpdate x -> SelectiveStateUpdateKernel.supports(x);
            case SsdChunkScan x -> SsdChunkScanKernel.supports(x);
            case SsdStateUpdate x -> SsdStateUpdateKernel.supports(x);
            case ShortConv x -> ShortConvKernel.supports(x);
            case LinearAttention x -> LinearAttentionKernel.supports(x);
            case MoeRouting x -> MoeRoutingKernel.supports(x);
            case MoeExperts x -> MoeExpertsKernel.supports(x);
            case Argmax x -> ArgmaxKernel.supports(x);
            case Sample x -> SampleKernel.supports(x);
            case Penalties x -> PenaltiesKernel.supports(x);
            case TopLogprobs x -> TopLogprobsKernel.supports(x);
        };
    }

    @Override
    public void copy(Copy a) {
        CopyKernel.run(a, ctx);
    }

    @Override
    public void cast(Cast a) {
        CastKernel.run(a, ctx);
    }

    @Override
    public void gatherRows(GatherRows a) {
        GatherRowsKernel.run(a, ctx);
    }

    @Override
    public void fill(Fill a) {
        FillKernel.run(a, ctx);
    }

    @Override
    public void binary(Binary a) {
        BinaryKernel.run(a, ctx);
    }

    @Override
    public void scale(Scale a) {
        ScaleKernel.run(a, ctx);
    }

    @Override
    public void activation(Activation a) {
        ActivationKernel.run(a, ctx);
    }

    @Override
    public void gatedActivation(GatedActivation a) {
        GatedActivationKernel.run(a, ctx);
    }

    @Override
    public void embedding(Embedding a) {
        EmbeddingKernel.run(a, ctx);
    }

    @Override
    public void linear(Linear a) {
        LinearKernel.run(a, ctx);
    }

    /** Decodes run as one parallel region (see {@link LinearKernel#runAll}); each op keeps its bits. */
    @Override
    public void linears(List<Linear> ops) {
        LinearKernel.runAll(ops, ctx);
    }

    @Override
    public void rmsNorm(RmsNorm a) {
        RmsNormKernel.run(a, ctx);
    }

    @Override
    public void layerNorm(LayerNorm a) {
        LayerNormKernel.run(a, ctx);
    }

    @Override
    public void gatedRmsNorm(GatedRmsNorm a) {
        GatedRmsNormKernel.run(a, ctx);
    }

    @Override
    public void rotary(Rotary a) {
        RotaryKernel.run(a, ctx);
    }

    @Override
    public void kvCacheWrite(KvCacheWrite a) {
        KvCacheWriteKernel.run(a, ctx);
    }

    @Override
    public void pagedAttention(PagedAttention a) {
        PagedAttentionKernel.run(a, ctx);
    }

    @Override
    public void causalConv1d(CausalConv1d a) {
        CausalConv1dKernel.run(a, ctx);
    }

    @Override
    public void causalConv1dUpdate(CausalConv1dUpdate a) {
        CausalConv1dUpdateKernel.run(a, ctx);
    }

    @Override
    public void selectiveScan(SelectiveScan a) {
        SelectiveScanKernel.run(a, ctx);
    }

    @Override
    public void selectiveStateUpdate(SelectiveStateUpdate a) {
        SelectiveStateUpdateKernel.run(a, ctx);
    }

    @Override
    public void ssdChunkScan(SsdChunkScan a) {
        SsdChunkScanKernel.run(a, ctx);
    }

    @Override
    public void ssdStateUpdate(SsdStateUpdate a) {
        SsdStateUpdateKernel.run(a, ctx);
    }

    @Override
    public void shortConv(ShortConv a) {
        ShortConvKernel.run(a, ctx);
    }

    @Override
    public void linearAttention(LinearAttention a) {
        LinearAttentionKernel.run(a, ctx);
    }

    @Override
    public void moeRouting(MoeRouting a) {
        MoeRoutingKernel.run(a, ctx);
    }

    @Override
    public void moeExperts(MoeExperts a) {
        MoeExpertsKernel.run(a, ctx);
    }

    @Override
    public void argmax(Argmax a) {
        ArgmaxKernel.run(a, ctx);
    }

    @Override
    public void sample(Sample a) {
        SampleKernel.run(a, ctx);
    }

    @Override
    public void penalties(Penalties a) {
        PenaltiesKernel.run(a, ctx);
    }

    @Override
    public void topLogprobs(TopLogprobs a) {
        TopLogprobsKernel.run(a, ctx);
    }
}
