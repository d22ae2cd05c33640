package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.cpu.CpuContext;

/**
 * CPU reference for {@link CausalConv1d}: depthwise causal conv over a varlen batch with conv state
 * (vLLM's {@code causal_conv1d_fn}).
 *
 * <p>Scalar form: per sequence, e = [state; x] built explicitly, every output the Javadoc sum
 * {@code bias + Σ_i w[c,i]·e[t+i][c]} (one fma per tap, tap order), then SiLU. SIMD form: the same
 * fma chain vectorized over channels with a ring of the last K rows, in parallel over
 * (sequence, 128-channel block); only the SiLU's vector exp may differ from the scalar one (last
 * ulp). Any mix of F32/BF16/F16 for x, weight, bias, out and the conv state is supported; values
 * are converted to f32 exactly, the output is rounded once, and the state stores e's rows in its
 * own dtype.
 */
public final class CausalConv1dKernel {
    private CausalConv1dKernel() {
    }

    public static boolean supports(CausalConv1d a) {
        return ScanIo.allFloat(a.x(), a.weight(), a.bias(), a.convStates(), a.out());
    }

    public static void run(CausalConv1d a, CpuContext ctx) {
        if (!supports(a)) {
            throw new UnsupportedOperationException("causal_conv1d: x, weight, bias, convStates and out must be F32, "
                    + "BF16 or F16; got x " + a.x().describe() + ", convStates " + a.convStates().describe());
        }
        int channels = a.x().cols(), k = a.weight().dim(1);
        ScanBatch sb = ScanBatch.of("causal_conv1d", a.batch(), a.x().dim(0), a.convStates().dim(0));
        ConvCore.run(sb, channels, k, ScanIo.floats(a.weight()), ScanIo.floats(a.bias()), a.convStates(), ctx,
                () -> io(a.x(), a.out(), a.silu(), ctx.scalar()));
    }

    /** Input: rows of x; output: optional SiLU, then rounded once into out. Shared with the decode op. */
    static ConvCore.ConvIo io(Tensor x, Tensor out, boolean silu, boolean scalar) {
        return new ConvCore.ConvIo() {
            @Override
            public void input(long row, int c0, int n, float[] dst) {
                ScanIo.load(x, row, c0, n, dst, 0);
            }

            @Override
            public void output(long row, int c0, int n, float[] acc) {
                if (silu) {
                    ConvCore.silu(acc, n, scalar);
                }
                ScanIo.store(out, row, c0, n, acc, 0);
            }
        };
    }
}
