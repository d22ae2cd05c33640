package dev.jvllm.cuda;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Fill;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Times the CUDA group's collectives ({@link CudaGroup}) at the shapes a Llama-3-8B forward pass
 * sends through them in bf16 (hidden 4096: the row-parallel all-reduces of a decode step, a 16-token
 * batch and a 512-token prefill; vocab 128256: the logits all-gather), for groups of 2 and 4 ranks
 * on the machine's devices (ranks wrap around them: on one GPU every rank shares it).
 *
 * <p>Each rank's thread calls the collective {@value #ITERS} times back to back without waiting, then
 * synchronizes its stream; per case the median over 5 such batches of rank 0's wall time per call
 * (host barriers, enqueueing and device work, whichever sets the pace), and the tensor's bytes per
 * that time. Run on the GPU machine:
 * {@code bash tools/gpu/run-tests.sh --main dev.jvllm.cuda.CollectiveBench}.
 */
public final class CollectiveBench {
    private static final int ITERS = 200;

    private CollectiveBench() {
    }

    private record Case(String op, DType dtype, int rows, int cols) {
    }

    public static void main(String[] args) throws Exception {
        Driver.init();
        System.out.println("devices: " + Driver.deviceCount() + ", " + ITERS + " calls per batch, median of 5 batches, barrier spin "
                + Long.getLong(CudaGroup.SPIN_PROPERTY, CudaGroup.DEFAULT_SPIN_MICROS) + " us (-D" + CudaGroup.SPIN_PROPERTY + ")");
        System.out.println(String.format(Locale.ROOT, "%-5s %-13s %-5s %-14s %12s %10s", "ranks", "op", "dtype",
                "per-rank shape", "us/call", "GB/s"));
        for (int n : new int[] {2, 4}) {
            List<Case> cases = List.of(
                    new Case("allReduceSum", DType.BF16, 1, 4096),
                    new Case("allReduceSum", DType.BF16, 16, 4096),
                    new Case("allReduceSum", DType.BF16, 512, 4096),
                    new Case("allReduceSum", DType.F32, 512, 4096),
                    new Case("allGather", DType.BF16, 1, 128256 / n),
                    new Case("allGather", DType.F32, 16, 128256 / n),
                    new Case("broadcast", DType.BF16, 512, 4096));
            List<Backend> group = CudaGroup.create(n, 0);
            ExecutorService threads = Executors.newFixedThreadPool(n);
            try {
                for (Case c : cases) {
                    List<Future<double[]>> fs = new ArrayList<>();
                    for (int r = 0; r < n; r++) {
                        Backend b = group.get(r);
                        fs.add(threads.submit(() -> time(b, c)));
                    }
                    double[] rank0 = fs.getFirst().get();
                    for (Future<double[]> f : fs) {
                        f.get();
                    }
                    Arrays.sort(rank0);
                    double us = rank0[rank0.length / 2] * 1e6;
                    double bytes = (double) c.rows() * c.cols() * c.dtype().byteSize();
                    System.out.println(String.format(Locale.ROOT, "%-5d %-13s %-5s %-14s %12.1f %10.1f", n, c.op(),
                            c.dtype().name().toLowerCase(Locale.ROOT), c.rows() + "x" + c.cols(), us, bytes / us / 1e3));
                }
            } finally {
                threads.shutdownNow();
                group.forEach(Backend::close);
            }
        }
    }

    /** Seconds per call of 5 batches of {@link #ITERS} calls on this rank (after 20 warm-up calls). */
    private static double[] time(Backend b, Case c) {
        Communicator comm = b.communicator();
        int[] outShape = {c.rows(), c.cols() * comm.size()};
        try (Tensor t = b.allocate(c.dtype(), c.rows(), c.cols()); Tensor out = b.allocate(c.dtype(), outShape)) {
            b.fill(new Fill(t, 0.0)); // zeros: sums of any count stay finite
            Runnable call = switch (c.op()) {
                case "allReduceSum" -> () -> comm.allReduceSum(t);
                case "allGather" -> () -> comm.allGather(t, out);
                default -> () -> comm.broadcast(t, 0);
            };
            for (int i = 0; i < 20; i++) {
                call.run();
            }
            b.synchronize();
            double[] s = new double[5];
            for (int k = 0; k < s.length; k++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < ITERS; i++) {
                    call.run();
                }
                b.synchronize();
                s[k] = (System.nanoTime() - t0) / 1e9 / ITERS;
            }
            return s;
        }
    }
}
