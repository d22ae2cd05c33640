package dev.jvllm.cuda;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.api.ops.SelectiveStateUpdate;
import java.util.Set;

/**
 * Mamba-1's selective scan ({@code mamba.cu}): {@link SelectiveScan} over a varlen batch and
 * {@link SelectiveStateUpdate} (one token per sequence) share one kernel. u, delta, B, C, z and out
 * F32/BF16/F16 in any mix; A, D skip, Δ bias and the state F32 (the records require it); state sizes
 * up to {@value #MAX_STATE}.
 *
 * <p>One block per (sequence, channel block): a group of lanes per channel holds its [N] state in
 * registers for the whole sequence and walks the tokens in order, eight at a time with the next
 * eight's inputs already loading, B and C rows shared through shared memory. Sequences and channels
 * run in parallel, time is sequential per channel: Mamba-1's 1536..5120 channels per layer fill
 * the GPU for batches, but a single long prefill runs D·lanes threads; a chunked scan over time
 * (per-chunk states combined afterwards) is the next step for it. Every op first runs
 * {@link StateBatchCheck}.
 */
final class MambaKernels implements KernelFamily {
    /** Largest state size: 32 lanes × 4 states each (mamba.cu). */
    static final int MAX_STATE = 128;
    private static final int THREADS = 128;
    private static final int PER_LANE = 4;

    private final Gpu gpu;

    MambaKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.SELECTIVE_SCAN, OpKind.SELECTIVE_STATE_UPDATE);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case SelectiveScan a -> ActivationDtypes.supported(a.u(), a.delta(), a.B(), a.C(), a.z(), a.out())
                    && a.A().cols() <= MAX_STATE;
            case SelectiveStateUpdate a -> ActivationDtypes.supported(a.u(), a.delta(), a.Bm(), a.Cm(), a.z(), a.out())
                    && a.A().cols() <= MAX_STATE;
            default -> false;
        };
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case SelectiveScan a -> scan(new Scan(a.kind(), a.u(), a.delta(), a.A(), a.B(), a.C(), a.Dskip(), a.z(),
                    a.deltaBias(), a.deltaSoftplus(), a.ssmStates(), a.out()), a.batch().queryStartLoc(),
                    a.batch().stateIndices(), a.batch().hasInitialState());
            case SelectiveStateUpdate a -> scan(new Scan(a.kind(), a.u(), a.delta(), a.A(), a.Bm(), a.Cm(), a.Dskip(),
                    a.z(), a.deltaBias(), a.deltaSoftplus(), a.ssmStates(), a.out()), null, a.stateIndices(), null);
            default -> throw new IllegalArgumentException("mamba: " + args.kind().id());
        }
    }

    /** The tensors of either op (shapes in {@link SelectiveScan}). */
    private record Scan(OpKind op, Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor dSkip, Tensor z,
            Tensor deltaBias, boolean softplus, Tensor states, Tensor out) {
    }

    /** queryStartLoc and hasInit null: a decode batch (row b = sequence b, continuing from its slot). */
    private void scan(Scan s, Tensor queryStartLoc, Tensor stateIndices, Tensor hasInit) {
        int numSeqs = stateIndices.dim(0), d = s.u().cols(), n = s.A().cols();
        if (numSeqs == 0 || d == 0) {
            return;
        }
        int lanes = lanes(n);
        int perBlock = THREADS / lanes;
        int tokens = s.u().dim(0);
        // decode-like batches (about one token per sequence) take the kernel with fewer registers
        boolean decodeLike = tokens <= 2L * numSeqs;
        try (CudaTensor ok = StateBatchCheck.launch(gpu, gpu.kernel("mamba_check_batch"), s.op(), queryStartLoc,
                stateIndices, tokens, s.states().dim(0))) {
            Launch scan = decodeLike ? gpu.kernel("mamba_scan_short") : gpu.kernel("mamba_scan_long");
            scan.grid(numSeqs, (d + perBlock - 1) / perBlock, 1).block(THREADS)
                    .view(s.u()).view(s.delta()).view(s.A()).view(s.B()).view(s.C()).view(s.dSkip()).view(s.z())
                    .view(s.deltaBias()).i32(s.softplus() ? 1 : 0).view(s.states(), n).view(s.out())
                    .ptr(StateBatchCheck.address(gpu, queryStartLoc)).ptr(stateIndices)
                    .ptr(StateBatchCheck.address(gpu, hasInit)).i32(d).i32(n).i32(lanes)
                    .i32(ActivationDtypes.common(s.u(), s.delta(), s.z(), s.B(), s.C())).ptr(ok).launch();
        }
    }

    /** Lanes per channel: the smallest power of two with lanes × {@value #PER_LANE} ≥ n. */
    static int lanes(int n) {
        int lanes = 1;
        while (lanes * PER_LANE < n) {
            lanes *= 2;
        }
        return lanes;
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        String m = StateBatchCheck.describe(op, detail, a, b, c);
        return m != null ? m : KernelFamily.super.describeError(op, detail, a, b, c);
    }
}
