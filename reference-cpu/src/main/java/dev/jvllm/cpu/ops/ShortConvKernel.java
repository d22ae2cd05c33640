package dev.jvllm.cpu.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.ShortConv;
import dev.jvllm.cpu.CpuContext;

/**
 * CPU reference for {@link ShortConv} (LFM2): {@code Bx = B ⊙ x} rounded to bcx's dtype, the
 * depthwise causal conv of Bx with state ({@link ConvCore}, as {@link CausalConv1dKernel} without
 * activation), the conv result rounded to bcx's dtype (where vLLM's {@code causal_conv1d_fn} writes
 * its output tensor), then {@code out = C ⊙ conv} in f32, rounded once to out's dtype. The conv
 * state holds the last K−1 rows of Bx.
 *
 * <p>Scalar and SIMD forms as in {@link ConvCore}; the elementwise products are scalar f32 in both
 * (they are exact-rounded single multiplies), so the two forms agree bit for bit.
 */
public final class ShortConvKernel {
    private ShortConvKernel() {
    }

    public static boolean supports(ShortConv a) {
        return ScanIo.allFloat(a.bcx(), a.weight(), a.bias(), a.convStates(), a.out());
    }

    public static void run(ShortConv a, CpuContext ctx) {
        if (!supports(a)) {
            throw new UnsupportedOperationException("short_conv: bcx, weight, bias, convStates and out must be F32, "
                    + "BF16 or F16; got bcx " + a.bcx().describe() + ", convStates " + a.convStates().describe());
        }
        int channels = a.out().cols(), k = a.weight().dim(1);
        ScanBatch sb = ScanBatch.of("short_conv", a.batch(), a.bcx().dim(0), a.convStates().dim(0));
        ConvCore.run(sb, channels, k, ScanIo.floats(a.weight()), ScanIo.floats(a.bias()), a.convStates(), ctx,
                () -> io(a.bcx(), a.out(), channels));
    }

    private static ConvCore.ConvIo io(Tensor bcx, Tensor out, int channels) {
        DType dt = bcx.dtype();
        return new ConvCore.ConvIo() {
            private float[] tmp = new float[0];

            @Override
            public void input(long row, int c0, int n, float[] dst) {
                float[] x = scratch(n);
                ScanIo.load(bcx, row, c0, n, dst, 0); // B
                ScanIo.load(bcx, row, 2 * channels + c0, n, x, 0);
                for (int c = 0; c < n; c++) {
                    dst[c] = ScanIo.round(dt, dst[c] * x[c]);
                }
            }

            @Override
            public void output(long row, int c0, int n, float[] acc) {
                float[] gate = scratch(n);
                ScanIo.load(bcx, row, channels + c0, n, gate, 0); // C
                for (int c = 0; c < n; c++) {
                    acc[c] = gate[c] * ScanIo.round(dt, acc[c]);
                }
                ScanIo.store(out, row, c0, n, acc, 0);
            }

            private float[] scratch(int n) {
                if (tmp.length < n) {
                    tmp = new float[n];
                }
                return tmp;
            }
        };
    }
}
