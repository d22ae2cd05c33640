package dev.jvllm.cpu.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.cpu.ops.LinearKernelTest.Format;
import dev.jvllm.cpu.ops.LinearKernelTest.RawWeight;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@code Backend.linears} on the CPU: several weights for one x (a layer's q/k/v or gate/up shards,
 * each writing its own columns of one output) give, bit for bit, what one {@code linear} per shard
 * gives, for any thread count, at decode (one parallel region) and prefill (one op at a time) sizes,
 * and in one region per decode.
 */
class LinearsTest {
    static final CpuBackend[] POOLS = {CpuBackend.create(BackendOptions.defaults().withThreads(1)),
            CpuBackend.create(BackendOptions.defaults().withThreads(2)),
            CpuBackend.create(BackendOptions.defaults().withThreads(7))};

    @AfterAll
    static void close() {
        for (CpuBackend p : POOLS) {
            p.close();
        }
    }

    /** Shards of one layer: their weights, outputs [offset, offset + n) of an output of total width. */
    record Layer(List<RawWeight> shards, float[] x, int t, int k, float[] bias, DType xType, DType outType) {
        static Layer random(int t, int k, int[] widths, Format[] formats, boolean bias, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            List<RawWeight> shards = new ArrayList<>();
            int total = 0;
            for (int i = 0; i < widths.length; i++) {
                shards.add(RawWeight.random(formats[i % formats.length], widths[i], k, seed * 17 + i));
                total += widths[i];
            }
            float[] x = new float[t * k];
            for (int i = 0; i < x.length; i++) {
                x[i] = Numerics.roundTo(DType.BF16, (float) (r.nextDouble() * 2 - 1));
            }
            float[] b = null;
            if (bias) {
                b = new float[total];
                for (int i = 0; i < total; i++) {
                    b[i] = (float) r.nextDouble();
                }
            }
            return new Layer(shards, x, t, k, b, DType.BF16, DType.F32);
        }

        int width() {
            return shards.stream().mapToInt(w -> w.n).sum();
        }

        /** The output [t, width] after the shards ran: together ({@code linears}) or one {@code linear} each. */
        byte[] run(Backend b, boolean together) {
            float[] wide = new float[t * (k + 3)]; // x as a strided view: columns [2, 2 + k) of [t, k + 3]
            for (int i = 0; i < t; i++) {
                System.arraycopy(x, i * k, wide, i * (k + 3) + 2, k);
            }
            Tensor xt = Tensors.fromFloats(b, xType, wide, t, k + 3).narrowLast(2, k);
            Tensor out = b.allocate(outType, t, width() + 2).narrowLast(1, width()); // strided, with canaries
            Tensor bt = bias == null ? null : Tensors.fromFloats(b, DType.F32, bias, width());
            List<Linear> ops = new ArrayList<>();
            int off = 0;
            for (RawWeight w : shards) {
                ops.add(new Linear(xt, w.build(b), bt == null ? null : bt.narrowLast(off, w.n), out.narrowLast(off, w.n)));
                off += w.n;
            }
            if (together) {
                b.linears(ops);
            } else {
                ops.forEach(b::linear);
            }
            return Tensors.toBytes(out);
        }
    }

    @Test
    void shardsTogetherGiveTheBitsOfOneLinearPerShardForAnyThreadCount() {
        Format[] mixed = {Format.DENSE_BF16, Format.DENSE_F32, Format.INT8, Format.FP8_DYNAMIC, Format.INT4_ZP};
        List<Layer> layers = List.of(
                Layer.random(1, 264, new int[] {64, 16, 16}, new Format[] {Format.DENSE_BF16}, false, 1), // q/k/v
                Layer.random(1, 333, new int[] {45, 45}, new Format[] {Format.DENSE_F32}, true, 2),        // gate/up
                Layer.random(3, 264, new int[] {37, 5, 130}, mixed, true, 3),
                Layer.random(8, 136, new int[] {9, 9, 9, 9, 9}, mixed, false, 4),
                Layer.random(9, 136, new int[] {21, 13}, mixed, true, 5),    // prefill: one op at a time
                Layer.random(67, 129, new int[] {40, 24}, new Format[] {Format.DENSE_BF16}, false, 6));
        for (Layer layer : layers) {
            byte[] want = layer.run(POOLS[0], false);
            for (CpuBackend pool : POOLS) {
                assertArrayEquals(want, layer.run(pool, true), "T=" + layer.t() + ", K=" + layer.k() + ", "
                        + layer.shards().size() + " shards, " + pool.context().threads() + " threads");
            }
        }
    }

    @Test
    void aDecodeOfSeveralShardsIsOneParallelRegion() {
        Layer qkv = Layer.random(1, 264, new int[] {64, 16, 16}, new Format[] {Format.DENSE_BF16}, false, 7);
        CpuBackend two = POOLS[1];
        long before = two.context().pool().regions();
        qkv.run(two, false);
        long apart = two.context().pool().regions() - before;
        before = two.context().pool().regions();
        qkv.run(two, true);
        long together = two.context().pool().regions() - before;
        assertEquals(3, apart, "one region per shard when run one by one");
        assertEquals(1, together, "one region for all shards");
    }

    @Test
    void anOpThatReadsAnotherOpsOutputRunsAfterIt() {
        // op 1 writes the x that op 2 reads: only the in-order result is right
        Backend b = POOLS[1];
        RawWeight w1 = RawWeight.random(Format.DENSE_BF16, 32, 32, 8);
        RawWeight w2 = RawWeight.random(Format.DENSE_BF16, 16, 32, 9);
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) {
            x[i] = i / 32f;
        }
        byte[][] results = new byte[2][];
        for (int together = 0; together < 2; together++) {
            Tensor x1 = Tensors.fromFloats(b, DType.F32, x, 1, 32);
            Tensor mid = b.allocate(DType.F32, 1, 32);
            Tensor out = b.allocate(DType.F32, 1, 16);
            List<Linear> ops = List.of(new Linear(x1, w1.build(b), null, mid), new Linear(mid, w2.build(b), null, out));
            if (together == 1) {
                b.linears(ops);
            } else {
                ops.forEach(b::linear);
            }
            results[together] = Tensors.toBytes(out);
        }
        assertArrayEquals(results[0], results[1]);
    }

    @Test
    void theScalarFormRunsEachShardAsItsLinear() {
        CpuBackend scalar = CpuBackend.create(BackendOptions.defaults().with("scalar", "true").withThreads(2));
        try {
            Layer layer = Layer.random(2, 40, new int[] {8, 4, 4}, new Format[] {Format.DENSE_BF16, Format.INT8}, true, 10);
            assertArrayEquals(layer.run(scalar, false), layer.run(scalar, true));
        } finally {
            scalar.close();
        }
    }

    @Test
    void anUnsupportedShardFailsNamingIt() {
        Backend b = POOLS[1];
        Tensor x = b.allocate(DType.F32, 1, 8);
        LinearWeight.Fp8 bad = new LinearWeight.Fp8(b.allocate(DType.F8_E4M3, 4, 8), b.allocate(DType.F32, 1), 0, 0,
                b.allocate(DType.BF16, 1), false, 0); // a static input scale must be F32 here
        List<Linear> ops = List.of(new Linear(x, new LinearWeight.Dense(b.allocate(DType.BF16, 4, 8)), null,
                b.allocate(DType.F32, 1, 4)), new Linear(x, bad, null, b.allocate(DType.F32, 1, 4)));
        var e = assertThrows(IllegalArgumentException.class, () -> b.linears(ops));
        assertEquals(true, e.getMessage().contains("fp8 input scale F32 [1]"), e.getMessage());
    }
}
