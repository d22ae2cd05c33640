package dev.jvllm.cuda;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.SsdChunkScan;
import dev.jvllm.api.ops.SsdStateUpdate;
import java.util.Set;

/**
 * Mamba-2's SSD ({@code ssd.cu}): {@link SsdChunkScan} over a varlen batch and {@link SsdStateUpdate}
 * (one token per sequence) share one kernel. x, dt, B, C and out F32/BF16/F16 in any mix; A, D skip,
 * Δ bias and the state F32 (the records require it); state sizes up to {@value #MAX_STATE}.
 *
 * <p>One block per (sequence, head, 4 channels): a warp per channel p holds that row's [N] state in
 * registers for the whole sequence and walks the tokens in order, the token recurrence of the CPU
 * reference ({@code chunkSize} changes nothing, as there). Sequences, heads and channels run in
 * parallel (a Mamba-2 layer has H·P = 4096..8192 channels, so one long prefill still has about a
 * thousand warps); time is sequential per channel. Every op first runs {@link StateBatchCheck}.
 */
final class SsdKernels implements KernelFamily {
    /** Largest state size: 32 lanes × 8 states each (ssd.cu). */
    static final int MAX_STATE = 256;
    private static final int WARPS = 4;

    private final Gpu gpu;

    SsdKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.SSD_CHUNK_SCAN, OpKind.SSD_STATE_UPDATE);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case SsdChunkScan a -> ActivationDtypes.supported(a.x(), a.dt(), a.B(), a.C(), a.out())
                    && a.stateSize() <= MAX_STATE;
            case SsdStateUpdate a -> ActivationDtypes.supported(a.x(), a.dt(), a.B(), a.C(), a.out())
                    && a.ssmStates().dim(3) <= MAX_STATE;
            default -> false;
        };
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case SsdChunkScan a -> scan(new Scan(a.kind(), a.x(), a.dt(), a.A(), a.B(), a.C(), a.D(), a.dtBias(),
                    a.dtSoftplus(), a.dtMin(), a.dtMax(), a.nGroups(), a.ssmStates(), a.out()),
                    a.batch().queryStartLoc(), a.batch().stateIndices(), a.batch().hasInitialState());
            case SsdStateUpdate a -> scan(new Scan(a.kind(), a.x(), a.dt(), a.A(), a.B(), a.C(), a.D(), a.dtBias(),
                    a.dtSoftplus(), a.dtMin(), a.dtMax(), a.nGroups(), a.ssmStates(), a.out()), null,
                    a.stateIndices(), null);
            default -> throw new IllegalArgumentException("ssd: " + args.kind().id());
        }
    }

    /** The tensors and flags of either op (shapes in {@link SsdChunkScan}). */
    private record Scan(OpKind op, Tensor x, Tensor dt, Tensor A, Tensor B, Tensor C, Tensor dSkip, Tensor dtBias,
            boolean softplus, float dtMin, float dtMax, int groups, Tensor states, Tensor out) {
    }

    /** queryStartLoc and hasInit null: a decode batch (row b = sequence b, continuing from its slot). */
    private void scan(Scan s, Tensor queryStartLoc, Tensor stateIndices, Tensor hasInit) {
        int numSeqs = stateIndices.dim(0);
        int heads = s.states().dim(1), p = s.states().dim(2), n = s.states().dim(3);
        if (numSeqs == 0 || heads == 0 || p == 0 || n == 0) {
            return;
        }
        int tokens = s.x().dim(0);
        try (CudaTensor ok = StateBatchCheck.launch(gpu, gpu.kernel("ssd_check_batch"), s.op(), queryStartLoc,
                stateIndices, tokens, s.states().dim(0))) {
            gpu.kernel("ssd_scan").grid(numSeqs, heads, (p + WARPS - 1) / WARPS).block(WARPS * 32)
                    .view(s.x()).view(s.dt()).view(s.A()).view(s.B()).view(s.C()).view(s.dSkip()).view(s.dtBias())
                    .i32(s.softplus() ? 1 : 0).f32(s.dtMin()).f32(s.dtMax()).view(s.states(), n).view(s.out())
                    .ptr(StateBatchCheck.address(gpu, queryStartLoc)).ptr(stateIndices)
                    .ptr(StateBatchCheck.address(gpu, hasInit)).i32(heads).i32(p).i32(n).i32(s.groups())
                    .i32(ActivationDtypes.common(s.x(), s.dt(), s.B(), s.C())).ptr(ok).launch();
        }
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        String m = StateBatchCheck.describe(op, detail, a, b, c);
        return m != null ? m : KernelFamily.super.describeError(op, detail, a, b, c);
    }
}
