package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.DType;
import dev.jvllm.api.OpGraph;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Binary;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.RmsNorm;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaBackend#capture}: a replayed graph gives bit for bit what the same ops give eagerly, on
 * the inputs written before each replay; replays allocate nothing and never touch eager tensors; a
 * host call inside a body fails the capture cleanly and leaves the backend usable. Skipped without a
 * usable GPU (with the provider's reason).
 */
class CudaGraphTest {
    private static final int ROWS = 5, IN = 96, OUT = 160;
    private static CudaBackend cuda;
    private static Tensor w;
    private static Tensor gamma;

    @BeforeAll
    static void open() {
        BackendProvider.Probe p = new CudaProvider().probe();
        Assumptions.assumeTrue(p.available(), () -> "no usable CUDA device: " + p.reason());
        cuda = (CudaBackend) new CudaProvider().create(BackendOptions.defaults());
        w = Tensors.fromFloats(cuda, DType.BF16, random(new Random(1), OUT * IN), OUT, IN);
        gamma = Tensors.fromFloats(cuda, DType.F32, random(new Random(2), OUT), OUT);
    }

    @AfterAll
    static void close() {
        if (cuda != null) {
            cuda.close();
        }
    }

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** out = rms_norm(x·wᵀ) + x·wᵀ, with workspace the body allocates and frees. */
    private static Tensor body(Tensor x) {
        try (Tensor y = cuda.allocate(DType.F32, ROWS, OUT); Tensor n = cuda.allocate(DType.F32, ROWS, OUT)) {
            cuda.linear(new Linear(x, new LinearWeight.Dense(w), null, y));
            cuda.rmsNorm(new RmsNorm(y, gamma, null, n, null, 1e-6f, false));
            Tensor out = cuda.allocate(DType.F32, ROWS, OUT);
            cuda.binary(new Binary(Binary.Op.ADD, n, y, out));
            return out;
        }
    }

    private static float[] eager(Tensor x) {
        try (Tensor out = body(x)) {
            return Tensors.toFloats(out);
        }
    }

    @Test
    void replaysGiveTheEagerResultOnEachNewInput() {
        Random r = new Random(3);
        try (Tensor x = cuda.allocate(DType.BF16, ROWS, IN)) {
            Tensor[] out = new Tensor[1];
            try (OpGraph g = cuda.capture(() -> out[0] = body(x)); Tensor o = out[0]) {
                for (int i = 0; i < 4; i++) {
                    Tensors.writeFloats(x, random(r, ROWS * IN));
                    float[] expected = eager(x);
                    g.replay();
                    assertArrayEquals(expected, Tensors.toFloats(o), 0f, "replay " + i);
                }
            }
        }
    }

    @Test
    void replaysAllocateNothingAndLeaveEagerTensorsAlone() {
        long inUseBefore = cuda.deviceMemory().inUse();
        try (Tensor x = Tensors.fromFloats(cuda, DType.BF16, random(new Random(4), ROWS * IN), ROWS, IN)) {
            Tensor[] out = new Tensor[1];
            OpGraph g = cuda.capture(() -> out[0] = body(x));
            assertTrue(cuda.graphPoolBytes() > 0, "the body's freed workspace stays in the graph pool");
            // eager tensors allocated after the capture get memory the graph does not use
            float[] marker = random(new Random(5), ROWS * OUT);
            try (Tensor eager = Tensors.fromFloats(cuda, DType.F32, marker, ROWS, OUT)) {
                g.replay();
                long inUse = cuda.deviceMemory().inUse();
                long pool = cuda.graphPoolBytes();
                for (int i = 0; i < 50; i++) {
                    g.replay();
                }
                cuda.synchronize();
                assertEquals(inUse, cuda.deviceMemory().inUse(), "replays allocate nothing");
                assertEquals(pool, cuda.graphPoolBytes(), "replays take nothing from the graph pool");
                assertArrayEquals(marker, Tensors.toFloats(eager), 0f, "a replay wrote into an eager tensor");
            }
            g.close();
            out[0].close();
            assertEquals(0, cuda.graphPoolBytes(), "the last graph gives its pool back");
        }
        assertEquals(inUseBefore, cuda.deviceMemory().inUse());
    }

    @Test
    void aHostCallInsideTheBodyFailsTheCaptureAndEagerWorkGoesOn() {
        try (Tensor x = Tensors.fromFloats(cuda, DType.BF16, random(new Random(6), ROWS * IN), ROWS, IN)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> cuda.capture(() -> {
                try (Tensor t = cuda.allocate(DType.I32, 4)) {
                    Tensors.writeInts(t, new int[] {1, 2, 3, 4});
                }
            }));
            assertTrue(e.getMessage().contains("write during a graph capture"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> cuda.capture(() -> Tensors.toFloats(x)));
            assertEquals(0, cuda.graphPoolBytes(), "a failed capture keeps no pool");
            float[] first = eager(x);
            assertArrayEquals(first, eager(x), 0f);
            assertNotEquals(0f, first[0]);
        }
    }
}
