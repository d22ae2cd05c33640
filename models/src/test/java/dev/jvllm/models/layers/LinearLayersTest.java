package dev.jvllm.models.layers;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.Communicator;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** vLLM's sharding and weight-loader semantics of the linear variants, on the CPU backend. */
class LinearLayersTest {
    static final Backend CPU = CpuBackend.create();
    static final Arena ARENA = Arena.ofShared();
    static final ModelConfig CONFIG = ModelConfig.parse("{\"architectures\":[\"Test\"]}", "test/config.json");
    static final Random RND = new Random(7);

    @AfterAll
    static void close() {
        CPU.close();
    }

    /** A rank of a group whose collectives are never called in these tests (the test sums by hand). */
    record Rank(int rank, int size) implements Communicator {
        public void allReduceSum(Tensor t) {
            throw new UnsupportedOperationException();
        }

        public void allGather(Tensor in, Tensor out) {
            throw new UnsupportedOperationException();
        }

        public void broadcast(Tensor t, int root) {
            throw new UnsupportedOperationException();
        }
    }

    static ModelContext ctx(int tp, int rank) {
        return new ModelContext(CONFIG, new ParallelConfig(tp, rank, tp == 1 ? Communicator.single() : new Rank(rank, tp)),
                CPU, DType.F32, null);
    }

    static float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) RND.nextGaussian();
        }
        return v;
    }

    static CheckpointTensor ckpt(String name, DType dtype, float[] values, long... shape) {
        return new CheckpointTensor(name, dtype, shape, Tensors.encodeFloats(ARENA, dtype, values), Path.of("test.safetensors"));
    }

    /** y [T, N] = x [T, K] · W[rows]ᵀ + b[rows] in double. */
    static float[] naive(float[] x, int t, int k, float[] w, int rowStart, int rows, float[] b) {
        float[] y = new float[t * rows];
        for (int i = 0; i < t; i++) {
            for (int n = 0; n < rows; n++) {
                double s = b == null ? 0 : b[rowStart + n];
                for (int j = 0; j < k; j++) {
                    s += (double) x[i * k + j] * w[(rowStart + n) * k + j];
                }
                y[i * rows + n] = (float) s;
            }
        }
        return y;
    }

    static float[] run(LinearBase l, float[] x, int t) {
        Tensor xt = Tensors.fromFloats(CPU, DType.F32, x, t, l.inFeatures());
        Tensor out = CPU.allocate(DType.F32, t, l.outFeatures());
        l.forward(xt, out);
        return Tensors.toFloats(out);
    }

    static void assertClose(float[] expected, float[] actual, int off, int stride, int width, int rows, int aOff, int aStride) {
        assertClose("", expected, actual, off, stride, width, rows, aOff, aStride);
    }

    /** expected[r, off..off+width) (row stride {@code stride}) ≈ actual[r, aOff..] (row stride {@code aStride}). */
    static void assertClose(String where, float[] expected, float[] actual, int off, int stride, int width, int rows,
            int aOff, int aStride) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < width; c++) {
                float e = expected[r * stride + off + c];
                float a = actual[r * aStride + aOff + c];
                assertEquals(e, a, 1e-4 * (1 + Math.abs(e)), where + " row " + r + " col " + c);
            }
        }
    }

    @Test
    void qkvSeparateAndFusedOnDiskAgreeAcrossTensorParallelRanks() {
        int hidden = 24, hs = 4, heads = 4, kv = 2, t = 3;
        float[] wq = random(heads * hs * hidden), wk = random(kv * hs * hidden), wv = random(kv * hs * hidden);
        float[] bq = random(heads * hs), bk = random(kv * hs), bv = random(kv * hs);
        float[] x = random(t * hidden);
        float[] fused = new float[wq.length + wk.length + wv.length];
        System.arraycopy(wq, 0, fused, 0, wq.length);
        System.arraycopy(wk, 0, fused, wq.length, wk.length);
        System.arraycopy(wv, 0, fused, wq.length + wk.length, wv.length);
        float[] fusedBias = new float[bq.length + bk.length + bv.length];
        System.arraycopy(bq, 0, fusedBias, 0, bq.length);
        System.arraycopy(bk, 0, fusedBias, bq.length, bk.length);
        System.arraycopy(bv, 0, fusedBias, bq.length + bk.length, bv.length);
        float[] yq = naive(x, t, hidden, wq, 0, heads * hs, bq);
        float[] yk = naive(x, t, hidden, wk, 0, kv * hs, bk);
        float[] yv = naive(x, t, hidden, wv, 0, kv * hs, bv);
        for (int tp : new int[] {1, 2, 4}) { // tp=4 > 2 KV heads: each KV head replicated on 2 ranks
            for (int r = 0; r < tp; r++) {
                for (boolean fusedOnDisk : new boolean[] {false, true}) {
                    QKVParallelLinear l = new QKVParallelLinear(ctx(tp, r), "attn.qkv_proj", hidden, hs, heads, kv, true);
                    var p = l.parameters();
                    if (fusedOnDisk) {
                        p.get("attn.qkv_proj.weight").load(ckpt("qkv.weight", DType.F32, fused, fused.length / hidden, hidden), null);
                        p.get("attn.qkv_proj.bias").load(ckpt("qkv.bias", DType.F32, fusedBias, fusedBias.length), null);
                    } else {
                        for (String s : new String[] {"q", "k", "v"}) {
                            float[] w = s.equals("q") ? wq : s.equals("k") ? wk : wv;
                            float[] b = s.equals("q") ? bq : s.equals("k") ? bk : bv;
                            p.get("attn.qkv_proj.weight").load(ckpt(s + ".weight", DType.F32, w, w.length / hidden, hidden), s);
                            p.get("attn.qkv_proj.bias").load(ckpt(s + ".bias", DType.F32, b, b.length), s);
                        }
                    }
                    assertTrue(p.values().stream().allMatch(Param::isComplete));
                    float[] y = run(l, x, t);
                    int q = l.numHeads() * hs, k = l.numKvHeads() * hs;
                    assertEquals(q + 2 * k, l.outFeatures());
                    int kvHead = tp <= kv ? r * l.numKvHeads() : r / (tp / kv);
                    String where = "tp=" + tp + " rank=" + r + " fused=" + fusedOnDisk;
                    assertClose(where, yq, y, r * q, heads * hs, q, t, 0, q + 2 * k);
                    assertClose(where, yk, y, kvHead * hs, kv * hs, k, t, q, q + 2 * k);
                    assertClose(where, yv, y, kvHead * hs, kv * hs, k, t, q + k, q + 2 * k);
                }
            }
        }
    }

    @Test
    void rowParallelPartialsSumToTheFullProductWithTheBiasOnce() {
        int k = 12, n = 5, t = 2;
        float[] w = random(n * k), b = random(n), x = random(t * k);
        float[] full = naive(x, t, k, w, 0, n, b);
        for (int tp : new int[] {1, 2, 3}) {
            float[] sum = new float[t * n];
            for (int r = 0; r < tp; r++) {
                RowParallelLinear l = new RowParallelLinear(ctx(tp, r), "o_proj", k, n, true, false);
                l.parameters().get("o_proj.weight").load(ckpt("o.weight", DType.F32, w, n, k), null);
                l.parameters().get("o_proj.bias").load(ckpt("o.bias", DType.F32, b, n), null);
                int kr = k / tp;
                float[] xr = new float[t * kr];
                for (int i = 0; i < t; i++) {
                    System.arraycopy(x, i * k + r * kr, xr, i * kr, kr);
                }
                float[] y = run(l, xr, t);
                for (int i = 0; i < y.length; i++) {
                    sum[i] += y[i];
                }
            }
            assertClose("tp=" + tp, full, sum, 0, n, n, t, 0, n);
        }
    }

    @Test
    void mergedGateUpSplitsEachPartPerRankAndAcceptsFusedTensors() {
        int k = 8, inter = 6, t = 2;
        float[] gate = random(inter * k), up = random(inter * k), x = random(t * k);
        float[] fused = new float[2 * inter * k];
        System.arraycopy(gate, 0, fused, 0, gate.length);
        System.arraycopy(up, 0, fused, gate.length, up.length);
        for (int tp : new int[] {1, 2}) {
            for (int r = 0; r < tp; r++) {
                int ir = inter / tp;
                float[] eg = naive(x, t, k, gate, r * ir, ir, null), eu = naive(x, t, k, up, r * ir, ir, null);
                for (boolean fusedOnDisk : new boolean[] {false, true}) {
                    var l = new MergedColumnParallelLinear(ctx(tp, r), "mlp.gate_up_proj", k, new int[] {inter, inter}, false);
                    Param p = l.parameters().get("mlp.gate_up_proj.weight");
                    if (fusedOnDisk) {
                        p.load(ckpt("gate_up.weight", DType.F32, fused, 2 * inter, k), null);
                    } else {
                        p.load(ckpt("gate.weight", DType.F32, gate, inter, k), 0);
                        p.load(ckpt("up.weight", DType.F32, up, inter, k), 1);
                    }
                    float[] y = run(l, x, t);
                    assertClose(eg, y, 0, ir, ir, t, 0, 2 * ir);
                    assertClose(eu, y, 0, ir, ir, t, ir, 2 * ir);
                }
            }
        }
    }

    @Test
    void conv1dTransposedWeightsAndBf16CheckpointsLoad() {
        int k = 9, n = 7, t = 3;
        float[] w = random(n * k), x = random(t * k);
        float[] wt = new float[k * n]; // Conv1D stores [in, out]
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                wt[j * n + i] = w[i * k + j];
            }
        }
        var conv = new ReplicatedLinear(ctx(1, 0), "c_fc", k, n, false, true);
        conv.parameters().get("c_fc.weight").load(ckpt("c_fc.weight", DType.F32, wt, k, n), null);
        assertClose(naive(x, t, k, w, 0, n, null), run(conv, x, t), 0, n, n, t, 0, n);

        var bf = new ColumnParallelLinear(ctx(1, 0), "proj", k, n, false, false);
        bf.parameters().get("proj.weight").load(ckpt("proj.weight", DType.BF16, w, n, k), null);
        float[] rounded = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            rounded[i] = dev.jvllm.api.Numerics.bf16ToF32(dev.jvllm.api.Numerics.f32ToBf16(w[i]));
        }
        assertClose(naive(x, t, k, rounded, 0, n, null), run(bf, x, t), 0, n, n, t, 0, n);
    }

    @Test
    void strictLoadingListsUnknownAndMissingNamesAndRejectsBadShapes() {
        class Root extends Module {
            Root(ModelContext c) {
                super(c, "model");
                add(new QKVParallelLinear(c, "model.attn.qkv_proj", 8, 4, 2, 1, false));
                add(new RowParallelLinear(c, "model.attn.o_proj", 8, 8, false, true));
            }
        }
        Root root = new Root(ctx(1, 0));
        var stacked = List.of(new WeightLoading.Stacked(".qkv_proj", ".q_proj", "q"),
                new WeightLoading.Stacked(".qkv_proj", ".k_proj", "k"),
                new WeightLoading.Stacked(".qkv_proj", ".v_proj", "v"));
        List<CheckpointTensor> ws = new ArrayList<>(List.of(
                ckpt("model.attn.q_proj.weight", DType.F32, random(64), 8, 8),
                ckpt("model.attn.k_proj.weight", DType.F32, random(32), 4, 8),
                ckpt("model.attn.rotary_emb.inv_freq", DType.F32, random(2), 2),
                ckpt("model.attn.extra.weight", DType.F32, random(4), 4)));
        var e = assertThrows(IllegalArgumentException.class,
                () -> WeightLoading.load(root, ws, stacked, n -> n.contains("rotary_emb")));
        assertTrue(e.getMessage().contains("model.attn.extra.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("model.attn.qkv_proj.weight (shards [v])"), e.getMessage());
        assertTrue(e.getMessage().contains("model.attn.o_proj.weight"), e.getMessage());

        Root again = new Root(ctx(1, 0));
        var bad = List.of(ckpt("model.attn.q_proj.weight", DType.F32, random(56), 7, 8));
        var e2 = assertThrows(IllegalArgumentException.class, () -> WeightLoading.load(again, bad, stacked, n -> false));
        assertTrue(e2.getMessage().contains("model.attn.q_proj.weight") && e2.getMessage().contains("[7, 8]")
                && e2.getMessage().contains("expected [8, 8]"), e2.getMessage());
    }

    @Test
    void tensorParallelSizeThatDoesNotDivideIsAClearError() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new ColumnParallelLinear(ctx(4, 1), "mlp.up_proj", 8, 6, false, false));
        assertTrue(e.getMessage().contains("mlp.up_proj") && e.getMessage().contains("tensor_parallel_size=4"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class,
                () -> new QKVParallelLinear(ctx(3, 0), "attn.qkv_proj", 8, 4, 6, 2, false));
        assertTrue(e2.getMessage().contains("num_key_value_heads=2"), e2.getMessage());
    }
}
