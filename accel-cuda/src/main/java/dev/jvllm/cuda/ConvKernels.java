package dev.jvllm.cuda;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.ShortConv;
import java.util.Set;

/**
 * Depthwise causal conv1d with conv state ({@code conv.cu}): {@link CausalConv1d} (varlen prefill,
 * optional SiLU), {@link CausalConv1dUpdate} (one token per sequence) and LFM2's {@link ShortConv}
 * (B⊙x through the conv, then ⊙C). Activations, weight, bias and conv state F32/BF16/F16 in any mix;
 * kernel widths up to {@value #MAX_KERNEL}.
 *
 * <p>Parallel over (chunk of token rows, channel), whatever the sequence lengths: a thread walks the
 * sequences of its chunk with a register window of the last K inputs, loading eight rows' inputs at
 * once and re-reading the K−1 rows before each (or the sequence's initial state). A sequence inside
 * one chunk gets its final state from that thread; the others from {@code conv_state}, launched
 * afterwards because other chunks still read the initial state. Every op first runs
 * {@link StateBatchCheck}: a bad batch touches nothing.
 */
final class ConvKernels implements KernelFamily {
    /** Widest conv kernel (conv.cu MAX_K). */
    static final int MAX_KERNEL = 8;
    private static final int THREADS = 128;
    private static final int MAX_CHUNK = 16;
    /** conv.cu conv::Mode. */
    private static final int PLAIN = 0, SILU = 1, SHORT = 2;

    private final Gpu gpu;

    ConvKernels(Gpu gpu) {
        this.gpu = gpu;
    }

    @Override
    public Set<OpKind> ops() {
        return Set.of(OpKind.CAUSAL_CONV1D, OpKind.CAUSAL_CONV1D_UPDATE, OpKind.SHORT_CONV);
    }

    @Override
    public boolean supports(OpArgs args) {
        return switch (args) {
            case CausalConv1d a -> ActivationDtypes.supported(a.x(), a.weight(), a.bias(), a.convStates(), a.out())
                    && a.weight().dim(1) <= MAX_KERNEL;
            case CausalConv1dUpdate a ->
                    ActivationDtypes.supported(a.x(), a.weight(), a.bias(), a.convStates(), a.out())
                    && a.weight().dim(1) <= MAX_KERNEL;
            case ShortConv a -> ActivationDtypes.supported(a.bcx(), a.weight(), a.bias(), a.convStates(), a.out())
                    && a.weight().dim(1) <= MAX_KERNEL;
            default -> false;
        };
    }

    @Override
    public void run(OpArgs args) {
        switch (args) {
            case CausalConv1d a -> conv(new Conv(a.kind(), a.x(), a.weight(), a.bias(), a.convStates(),
                    a.batch().queryStartLoc(), a.batch().stateIndices(), a.batch().hasInitialState(),
                    a.silu() ? SILU : PLAIN, a.x().cols()), a.out());
            case CausalConv1dUpdate a -> conv(new Conv(a.kind(), a.x(), a.weight(), a.bias(), a.convStates(), null,
                    a.stateIndices(), null, a.silu() ? SILU : PLAIN, a.x().cols()), a.out());
            case ShortConv a -> conv(new Conv(a.kind(), a.bcx(), a.weight(), a.bias(), a.convStates(),
                    a.batch().queryStartLoc(), a.batch().stateIndices(), a.batch().hasInitialState(), SHORT,
                    a.out().cols()), a.out());
            default -> throw new IllegalArgumentException("conv: " + args.kind().id());
        }
    }

    /**
     * One conv op's inputs: x [T, C] (ShortConv: bcx [T, 3C]); weight [C, K]; bias [C] or null;
     * states [S, K−1, C]; queryStartLoc null for a decode batch (hasInit then null too).
     */
    private record Conv(OpKind op, Tensor x, Tensor weight, Tensor bias, Tensor states, Tensor queryStartLoc,
            Tensor stateIndices, Tensor hasInit, int mode, int channels) {
    }

    private void conv(Conv c, Tensor out) {
        int numSeqs = c.stateIndices().dim(0), tokens = out.dim(0);
        if (numSeqs == 0 || c.channels() == 0) {
            return;
        }
        CudaTensor o = gpu.tensor(out);
        if (o.overlaps(gpu.tensor(c.x()))) {
            // a chunk re-reads the rows before it, which another chunk may already have overwritten:
            // run into a copy of out (padded rows keep their values) and copy it back
            try (CudaTensor tmp = gpu.temp(out.dtype(), tokens, c.channels())) {
                gpu.copy(o, tmp);
                conv(c, tmp);
                gpu.copy(tmp, o);
            }
            return;
        }
        int k = c.weight().dim(1);
        int blocks = (c.channels() + THREADS - 1) / THREADS;
        int chunk = c.queryStartLoc() == null ? 1 : chunk(tokens, blocks, gpu.multiprocessors());
        long qsl = StateBatchCheck.address(gpu, c.queryStartLoc()), init = StateBatchCheck.address(gpu, c.hasInit());
        try (CudaTensor ok = StateBatchCheck.launch(gpu, gpu.kernel("conv_check_batch"), c.op(), c.queryStartLoc(),
                c.stateIndices(), tokens, c.states().dim(0))) {
            if (tokens > 0) {
                gpu.kernel("conv_causal").grid((tokens + chunk - 1) / chunk, blocks, 1).block(THREADS)
                        .view(c.x()).view(c.weight()).view(c.bias()).view(c.states(), c.channels()).view(out)
                        .ptr(qsl).ptr(c.stateIndices()).ptr(init).i32(numSeqs).i64(tokens).i32(c.channels()).i32(k)
                        .i32(chunk).i32(c.mode()).ptr(ok).launch();
            }
            if (c.queryStartLoc() != null) { // decode rows are one-token sequences: conv_causal wrote their states
                gpu.kernel("conv_state").grid(numSeqs, blocks, 1).block(THREADS)
                        .view(c.x()).view(c.states(), c.channels()).ptr(qsl).ptr(c.stateIndices()).ptr(init)
                        .i32(c.channels()).i32(k).i32(chunk).i32(c.mode()).ptr(ok).launch();
            }
        }
    }

    /**
     * Token rows per thread of conv_causal: enough (row chunk × channel block) blocks for about sixteen
     * per SM, so the loads of many threads hide each other's latency, and at most {@value #MAX_CHUNK}
     * (each chunk re-reads the K−1 rows before it, so longer chunks load less per row).
     */
    static int chunk(int tokens, int channelBlocks, int multiprocessors) {
        long chunks = Math.max(1, 16L * multiprocessors / channelBlocks);
        return (int) Math.max(1, Math.min(MAX_CHUNK, (tokens + chunks - 1) / chunks));
    }

    @Override
    public String describeError(OpKind op, int detail, int a, int b, int c) {
        String m = StateBatchCheck.describe(op, detail, a, b, c);
        return m != null ? m : KernelFamily.super.describeError(op, detail, a, b, c);
    }
}
