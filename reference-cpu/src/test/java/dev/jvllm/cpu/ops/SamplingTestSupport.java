package dev.jvllm.cpu.ops;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.cpu.CpuBackend;
import java.util.SplittableRandom;

/** Shared helpers of the sampling kernel tests: backends in each form and strided inputs. */
final class SamplingTestSupport {
    private SamplingTestSupport() {
    }

    static CpuBackend scalar() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "true"));
    }

    static CpuBackend simd() {
        return CpuBackend.create(BackendOptions.defaults().with("scalar", "false"));
    }

    static CpuBackend simd(int threads) {
        return CpuBackend.create(BackendOptions.defaults().withThreads(threads).with("scalar", "false"));
    }

    static CpuBackend scalar(int threads) {
        return CpuBackend.create(BackendOptions.defaults().withThreads(threads).with("scalar", "true"));
    }

    /**
     * A [rows, cols] tensor holding {@code values}, as a strided view (row stride cols + 5, offset 2)
     * when {@code strided}, so kernels must honour the layout.
     */
    static Tensor matrix(Backend b, DType dtype, float[] values, int rows, int cols, boolean strided) {
        if (!strided) {
            return Tensors.fromFloats(b, dtype, values, rows, cols);
        }
        Tensor parent = b.allocate(dtype, rows, cols + 5);
        Tensor view = parent.narrowLast(2, cols);
        Tensors.writeFloats(view, values);
        return view;
    }

    static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        }
        return v;
    }

    /** Values rounded as {@code dtype} stores them. */
    static float[] rounded(DType dtype, float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = dev.jvllm.api.Numerics.roundTo(dtype, v[i]);
        }
        return out;
    }
}
