package dev.jvllm.bench.ops;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the op benchmarks share: a CPU backend with {@code threads} threads (0 = all cores) and the
 * tensors a case allocates, freed at tear-down. Each benchmark class also has a static
 * {@code work(method, params)} giving {flops, bytes} of one call, from which {@link OpsMain} derives
 * GFLOP/s, GB/s and the fractions of the machine's limits.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public abstract class OpBench {
    @Param("0")
    public int threads;

    protected Backend backend;
    private final List<Tensor> owned = new ArrayList<>();
    protected final SplittableRandom random = new SplittableRandom(42);

    protected void open() {
        backend = CpuBackend.create(BackendOptions.defaults().withThreads(threads));
    }

    /** A tensor of uniform values in [-1, 1), freed at tear-down. */
    protected Tensor random(DType dtype, int... shape) {
        int n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return own(Tensors.fromFloats(backend, dtype, v, shape));
    }

    protected Tensor ints(int[] values, int... shape) {
        return own(Tensors.fromInts(backend, values, shape));
    }

    protected Tensor zeros(DType dtype, int... shape) {
        return own(backend.allocate(dtype, shape));
    }

    protected Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    @TearDown
    public void close() {
        owned.forEach(Tensor::close);
        owned.clear();
        backend.close();
    }
}
