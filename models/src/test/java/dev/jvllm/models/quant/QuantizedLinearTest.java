package dev.jvllm.models.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.layers.QKVParallelLinear;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A quantized fused layer end to end: shards, per-shard scales, the shared static input scale, fused-on-disk tensors. */
class QuantizedLinearTest {
    static final CpuBackend CPU = CpuBackend.create();
    static final Arena ARENA = Arena.ofShared();
    static final String QKV = "model.layers.0.self_attn.qkv_proj";
    static final int HIDDEN = 16, HEAD = 8; // q: 2 heads (16 rows), k and v: 1 head (8 rows each)

    @AfterAll
    static void close() {
        CPU.close();
    }

    static CheckpointTensor tensor(String name, DType dtype, float[] values, long... shape) {
        return new CheckpointTensor(name, dtype, shape, Tensors.encodeFloats(ARENA, dtype, values), Path.of("t.safetensors"));
    }

    static QKVParallelLinear layer(String quantizationConfig) {
        ModelConfig c = ModelConfig.parse("{\"quantization_config\": " + quantizationConfig + "}", "config.json");
        ModelContext ctx = new ModelContext(c, ParallelConfig.single(), CPU, DType.F32, null, QuantizationConfig.of(c));
        return new QKVParallelLinear(ctx, QKV, HIDDEN, HEAD, 2, 1, false);
    }

    /** e4m3 values of a random [rows, HIDDEN] matrix (the weight as stored). */
    static float[] e4m3Matrix(Random r, int rows) {
        float[] w = new float[rows * HIDDEN];
        for (int i = 0; i < w.length; i++) {
            w[i] = Numerics.e4m3ToF32(Numerics.f32ToE4M3((float) (r.nextGaussian() * 100)));
        }
        return w;
    }

    static float fakeQuant(float x, float scale) {
        return Numerics.e4m3ToF32(Numerics.f32ToE4M3(x / scale)) * scale;
    }

    /** out = e4m3(x / a)·a · (w · s)ᵀ per shard, the fp8 linear op's definition. */
    static float[] expected(float[] x, int t, float a, float[][] w, float[] s) {
        int n = 0;
        for (float[] shard : w) {
            n += shard.length / HIDDEN;
        }
        float[] out = new float[t * n];
        for (int i = 0; i < t; i++) {
            int col = 0;
            for (int p = 0; p < w.length; p++) {
                for (int row = 0; row < w[p].length / HIDDEN; row++, col++) {
                    double acc = 0;
                    for (int k = 0; k < HIDDEN; k++) {
                        acc += (double) fakeQuant(x[i * HIDDEN + k], a) * (w[p][row * HIDDEN + k] * s[p]);
                    }
                    out[i * n + col] = (float) acc;
                }
            }
        }
        return out;
    }

    static float[] forward(QKVParallelLinear l, float[] x, int t) {
        try (Tensor in = Tensors.fromFloats(CPU, DType.F32, x, t, HIDDEN);
             Tensor out = CPU.allocate(DType.F32, t, l.outFeatures())) {
            l.forward(in, out);
            return Tensors.toFloats(out);
        }
    }

    @Test
    void perShardWeightScalesAndOneStaticInputScaleTheMaxOfTheShards() {
        QKVParallelLinear l = layer("{\"quant_method\": \"fp8\", \"activation_scheme\": \"static\"}");
        Random r = new Random(3);
        String[] names = {"q_proj", "k_proj", "v_proj"};
        float[][] w = {e4m3Matrix(r, 16), e4m3Matrix(r, 8), e4m3Matrix(r, 8)};
        float[] s = {0.01f, 0.02f, 0.005f};
        float[] a = {0.5f, 2.0f, 1.0f};
        for (int p = 0; p < 3; p++) {
            String m = "model.layers.0.self_attn." + names[p];
            Object shard = names[p].substring(0, 1);
            l.parameters().get(QKV + ".weight").load(tensor(m + ".weight", DType.F8_E4M3, w[p], w[p].length / HIDDEN, HIDDEN),
                    shard);
            l.parameters().get(QKV + ".weight_scale").load(tensor(m + ".weight_scale", DType.F32, new float[] {s[p]}), shard);
            l.parameters().get(QKV + ".input_scale").load(tensor(m + ".input_scale", DType.F32, new float[] {a[p]}), shard);
        }
        List<LinearWeight> weights = l.weights();
        Tensor shared = ((LinearWeight.Fp8) weights.get(0)).inputScale();
        for (LinearWeight lw : weights) {
            assertSame(shared, ((LinearWeight.Fp8) lw).inputScale(), "x is quantized once for the fused layer");
        }
        assertArrayEquals(new float[] {2.0f}, Tensors.toFloats(shared));
        float[] x = new float[3 * HIDDEN];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian() * 3;
        }
        float[] want = expected(x, 3, 2.0f, w, s);
        float[] got = forward(l, x, 3);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-4 * Math.abs(want[i]) + 1e-3, "output " + i);
        }
    }

    @Test
    void aFusedOnDiskTensorFillsEveryShardFromItsRows() {
        QKVParallelLinear l = layer("{\"quant_method\": \"fp8\", \"activation_scheme\": \"dynamic\"}");
        Random r = new Random(4);
        float[] all = e4m3Matrix(r, 32);
        l.parameters().get(QKV + ".weight").load(tensor(QKV + ".weight", DType.F8_E4M3, all, 32, HIDDEN), null);
        l.parameters().get(QKV + ".weight_scale").load(tensor(QKV + ".weight_scale", DType.F32, new float[] {0.25f}), null);
        // an unused calibrated scale is accepted under dynamic activations
        l.parameters().get(QKV + ".input_scale").load(tensor(QKV + ".input_scale", DType.F32, new float[] {7f}), null);
        assertTrue(l.parameters().values().stream().allMatch(p -> p.isComplete()));
        float[] x = new float[HIDDEN];
        x[3] = 1f; // one-hot rows make the output column 3 of W, exactly (one token: its own amax/448 scale)
        float[] got = forward(l, x, 1);
        for (int n = 0; n < 32; n++) {
            assertEquals(all[n * HIDDEN + 3] * 0.25f, got[n], 0f, "row " + n);
        }
    }

    @Test
    void fp8BlockScalesOfARankThatCutsABlockFailNamingTheFix() {
        LinearScheme block = new LinearScheme.Fp8(LinearScheme.Fp8Scales.BLOCK, 128, 128, "weight_scale_inv",
                LinearScheme.Fp8Activation.NONE);
        // rank 1 of 4 over 256 rows: rows [64, 128) start inside the first 128-row block
        QuantizedLinear q = new QuantizedLinear("model.layers.0.mlp.up_proj", block, CPU, t -> t,
                List.of(new QuantizedLinear.ShardRows(256, 64, 64)), 128, 0, 128, (i, w) -> fail("built"));
        q.accept("weight", tensor("up.weight", DType.F8_E4M3, new float[256 * 128], 256, 128), 0);
        var e = assertThrows(IllegalArgumentException.class,
                () -> q.accept("weight_scale_inv", tensor("up.weight_scale_inv", DType.F32, new float[2], 2, 1), 0));
        assertTrue(e.getMessage().contains("128x128") && e.getMessage().contains("tensor_parallel_size")
                && e.getMessage().contains("rows [64, 128) of 256"), e.getMessage());
    }

    @Test
    void aWrongShapeOrDtypeNamesTheTensorAndTheLayout() {
        QKVParallelLinear l = layer("{\"quant_method\": \"gptq\", \"bits\": 4, \"group_size\": 8}");
        var e = assertThrows(IllegalArgumentException.class, () -> {
            l.parameters().get(QKV + ".qweight").load(new CheckpointTensor("q.qweight", DType.I32, new long[] {16, 2},
                    ARENA.allocate(128), Path.of("t")), "q");
            l.parameters().get(QKV + ".qzeros").load(new CheckpointTensor("q.qzeros", DType.I32, new long[] {2, 2},
                    ARENA.allocate(16), Path.of("t")), "q");
            l.parameters().get(QKV + ".scales").load(tensor("q.scales", DType.F16, new float[32], 2, 16), "q");
        });
        assertTrue(e.getMessage().contains("q.qweight has shape [16, 2], expected [2, 16]")
                && e.getMessage().contains("GPTQ packs 8 int4 values along the input dim"), e.getMessage());
        ModelConfig c = ModelConfig.parse("{\"quantization_config\": {\"quant_method\": \"awq\", \"bits\": 4, "
                + "\"group_size\": 8}}", "config.json");
        ModelContext ctx = new ModelContext(c, ParallelConfig.single(), CPU, DType.F32, null, QuantizationConfig.of(c));
        var conv = assertThrows(IllegalArgumentException.class, () -> new dev.jvllm.models.layers.ColumnParallelLinear(
                ctx, "transformer.h.0.mlp.c_fc", 16, 64, true, false, true));
        assertTrue(conv.getMessage().contains("Conv1D"), conv.getMessage());
    }
}
