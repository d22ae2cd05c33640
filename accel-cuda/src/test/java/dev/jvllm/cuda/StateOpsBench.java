package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.CausalConv1d;
import dev.jvllm.api.ops.CausalConv1dUpdate;
import dev.jvllm.api.ops.GatedRmsNorm;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.SelectiveScan;
import dev.jvllm.api.ops.SelectiveStateUpdate;
import dev.jvllm.api.ops.ShortConv;
import dev.jvllm.api.ops.StateBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Times the conv, selective-scan and gated-norm kernels at model sizes (the conformance cases are
 * too small to say anything about speed): Mamba-1 2.8B (d_inner 5120, N 16, K 4), LFM2-1.2B's short
 * conv (2048 channels, K 3), Mamba-2 2.7B's gated norm (5120 channels, 1 group; 8 groups). A
 * measurement program, not a test: run on a GPU machine with the test class path,
 * {@code java -cp '.gpu/lib/*:.gpu/test-classes/accel-cuda' dev.jvllm.cuda.StateOpsBench}.
 * Prints µs per call (mean over 20 after 3 warm-ups, the stream drained around the loop) and the
 * bytes each call must move at that rate.
 */
public final class StateOpsBench {
    private final Backend b;
    private final List<Tensor> owned = new ArrayList<>();

    private StateOpsBench(Backend b) {
        this.b = b;
    }

    public static void main(String[] args) {
        try (Backend cuda = new CudaProvider().create(BackendOptions.defaults())) {
            System.out.println("# " + cuda.description());
            new StateOpsBench(cuda).all();
        }
    }

    private Tensor t(DType dt, int... shape) {
        Tensor t = b.allocate(dt, shape);
        owned.add(t);
        return t;
    }

    /** {@code seqs} sequences of {@code len} tokens, slots 0.., all continuing. */
    private StateBatch batch(int seqs, int len) {
        int[] qsl = new int[seqs + 1], idx = new int[seqs], init = new int[seqs];
        for (int i = 0; i < seqs; i++) {
            qsl[i + 1] = qsl[i] + len;
            idx[i] = i;
            init[i] = 1;
        }
        return new StateBatch(own(Tensors.fromInts(b, qsl, seqs + 1)), own(Tensors.fromInts(b, idx, seqs)),
                own(Tensors.fromInts(b, init, seqs)));
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    private void all() {
        int c = 5120, n = 16;
        DType bf = DType.BF16;
        for (int[] shape : new int[][] {{1, 4096}, {8, 512}, {64, 1}}) {
            int seqs = shape[0], len = shape[1], tok = seqs * len;
            Tensor x = t(bf, tok, c), out = t(bf, tok, c);
            StateBatch sb = batch(seqs, len);
            String sz = seqs + "x" + len;
            time("causal_conv1d " + sz + " C=5120 K=4 bf16 silu",
                    new CausalConv1d(x, t(bf, c, 4), t(bf, c), t(bf, seqs, 3, c), sb, true, out),
                    2.0 * tok * c * 2 + 2.0 * seqs * 3 * c * 2);
            time("short_conv " + sz + " C=2048 K=3 bf16",
                    new ShortConv(t(bf, tok, 3 * 2048), t(bf, 2048, 3), null, t(bf, seqs, 2, 2048), sb,
                            t(bf, tok, 2048)), 4.0 * tok * 2048 * 2 + 2.0 * seqs * 2 * 2048 * 2);
            time("selective_scan " + sz + " D=5120 N=16 bf16 z,D,bias,softplus",
                    new SelectiveScan(x, t(bf, tok, c), t(DType.F32, c, n), t(bf, tok, n), t(bf, tok, n),
                            t(DType.F32, c), t(bf, tok, c), t(DType.F32, c), true, t(DType.F32, seqs, c, n), sb, out),
                    4.0 * tok * c * 2 + 2.0 * seqs * c * n * 4);
            if (len == 1) {
                Tensor idx = sb.stateIndices();
                time("causal_conv1d_update B=64 C=5120 K=4 bf16 silu",
                        new CausalConv1dUpdate(x, t(bf, c, 4), t(bf, c), t(bf, seqs, 3, c), idx, true, out),
                        2.0 * tok * c * 2 + 2.0 * seqs * 3 * c * 2);
                time("selective_state_update B=64 D=5120 N=16 bf16",
                        new SelectiveStateUpdate(x, t(bf, tok, c), t(DType.F32, c, n), t(bf, tok, n), t(bf, tok, n),
                                t(DType.F32, c), t(bf, tok, c), t(DType.F32, c), true, t(DType.F32, seqs, c, n), idx,
                                out), 4.0 * tok * c * 2 + 2.0 * seqs * c * n * 4);
            }
            for (int groups : new int[] {1, 8}) {
                time("gated_rms_norm T=" + tok + " D=5120 G=" + groups + " bf16",
                        new GatedRmsNorm(x, t(bf, tok, c), t(bf, c), out, c / groups, 1e-5f, false), 3.0 * tok * c * 2);
            }
            owned.forEach(Tensor::close);
            owned.clear();
        }
    }

    private void time(String name, OpArgs op, double bytes) {
        for (int i = 0; i < 3; i++) {
            b.run(op);
        }
        b.synchronize();
        int iters = 20;
        long t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) {
            b.run(op);
        }
        b.synchronize();
        double us = (System.nanoTime() - t0) / 1e3 / iters;
        System.out.println(String.format(Locale.ROOT, "%-62s %10.1f us %8.1f GB/s", name, us, bytes / us / 1e3));
    }
}
