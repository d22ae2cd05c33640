package dev.jvllm.models.runtime;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.LinearBase;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.quant.LinearScheme;
import dev.jvllm.models.quant.RandomQuantization;
import dev.jvllm.models.quant.RandomQuantization.Format;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Random quantized checkpoints ({@code save-random --quantization}) load through the ordinary
 * loader in every format, each projection becomes the format's linear weight, and its dequantized
 * values are the dense random weight of the same seed to within half a quantization step: the
 * packing (nibble order, transposes, zero-point offsets, g_idx, block scales) is read back as
 * written, and the quantized model is the dense one, quantized.
 */
class RandomQuantizedCheckpointTest {
    static final CpuBackend CPU = CpuBackend.create();
    static final long SEED = 77;
    static final int GROUP = 64;

    @AfterAll
    static void close() {
        CPU.close();
    }

    /** A small Llama whose k/v (128 rows), q/o/gate/up/down (256, 512) fill whole 128×128 fp8 blocks and 64-groups. */
    static ObjectNode config() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama").put("hidden_size", 256).put("intermediate_size", 512).put("num_hidden_layers", 2)
                .put("num_attention_heads", 4).put("num_key_value_heads", 2).put("head_dim", 64).put("vocab_size", 300)
                .put("max_position_embeddings", 128).put("rms_norm_eps", 1e-5).put("rope_theta", 10000.0)
                .put("tie_word_embeddings", false);
        return c;
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void everyFormatLoadsAndDequantizesToTheDenseWeights(Format format, @TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve(format.id());
        RandomCheckpoint.write(config(), dir, DType.BF16, SEED, RandomCheckpoint.DEFAULT_MAX_SHARD_BYTES,
                new RandomQuantization(format, GROUP, DType.BF16, SEED));
        try (CausalLM model = ModelLoader.load(dir, CPU, ParallelConfig.single(), DType.F32, null)) {
            int layers = 0;
            for (Module m : ((Module) model).modules()) {
                if (!(m instanceof LinearBase l) || m.prefix().endsWith("lm_head")) {
                    continue;
                }
                layers++;
                assertScheme(format, l.scheme(), l.prefix());
                List<String> shards = shardModules(l.prefix());
                List<LinearWeight> weights = l.weights();
                assertEquals(shards.size(), weights.size(), l.prefix());
                for (int i = 0; i < shards.size(); i++) {
                    assertDequantizesToDense(format, shards.get(i), weights.get(i));
                }
            }
            assertEquals(2 * 4, layers, "qkv, o, gate_up, down per layer");
            try (SimpleRunner r = new SimpleRunner(model, 32)) {
                float[] logits = r.promptLogits(new int[] {5, 17, 3, 99});
                for (float v : logits) {
                    assertTrue(Float.isFinite(v), format.id() + ": logits are finite");
                }
            }
        }
    }

    /** The checkpoint modules of a layer's shards, in the layer's order (vLLM's packed_modules_mapping). */
    static List<String> shardModules(String prefix) {
        String parent = prefix.substring(0, prefix.lastIndexOf('.') + 1);
        return switch (prefix.substring(prefix.lastIndexOf('.') + 1)) {
            case "qkv_proj" -> List.of(parent + "q_proj", parent + "k_proj", parent + "v_proj");
            case "gate_up_proj" -> List.of(parent + "gate_proj", parent + "up_proj");
            default -> List.of(prefix);
        };
    }

    static void assertScheme(Format format, LinearScheme s, String layer) {
        String d = s.describe();
        switch (format) {
            case FP8 -> assertEquals("fp8 tensor scales, dynamic per-token activations", d, layer);
            case FP8_BLOCK -> assertEquals("fp8 block 128x128 scales, dynamic activations per token and 128 columns", d, layer);
            case FP8_DYNAMIC -> assertEquals("fp8 channel scales, dynamic per-token activations", d, layer);
            case GPTQ -> assertEquals("int4 gptq group_size=64, symmetric, gptq v1", d, layer);
            case GPTQ_ACT_ORDER -> assertEquals("int4 gptq group_size=64 act-order, symmetric, gptq v1", d, layer);
            case GPTQ_8BIT -> assertEquals("int8 gptq per-channel", d, layer);
            case AWQ -> assertEquals("int4 awq group_size=64, zero points", d, layer);
            case W4A16 -> assertEquals("int4 packed group_size=64, symmetric", d, layer);
            case W4A16_ASYM -> assertEquals("int4 packed group_size=64 act-order, zero points", d, layer);
            case W8A16 -> assertEquals("int8 packed per-channel", d, layer);
        }
    }

    /**
     * W read back through the linear op (x = identity: out[k, n] = W[n, k], exact in f32) against
     * the dense init. Bounds, for the dense range |w| ≤ 1e-3: int4 step s = range/15 ≤ 2e-3/15, so
     * |error| ≤ s/2, plus up to 15 steps times the scale's bf16 rounding (2^-8) where a value
     * at the range's end is clamped (asymmetric: the zero point's rounding moves the grid by s/2); int8 step ≤ 1e-3/127
     * (error ≤ 3.9e-6, plus bf16 scale rounding ≤ 2e-6); fp8 e4m3 keeps 3 mantissa bits: relative
     * error ≤ 2^-4 (2^-8 more where a rounded scale saturates), plus half a subnormal step.
     */
    static void assertDequantizesToDense(Format format, String module, LinearWeight w) {
        String expectedFormat = switch (format) {
            case FP8 -> "fp8-tensor";
            case FP8_BLOCK -> "fp8-block";
            case FP8_DYNAMIC -> "fp8-channel";
            case GPTQ_8BIT, W8A16 -> "int8";
            case GPTQ, W4A16 -> "int4-g64-sym";
            case GPTQ_ACT_ORDER -> "int4-g64-sym-actorder";
            case AWQ -> "int4-g64-zp";
            case W4A16_ASYM -> "int4-g64-zp-actorder";
        };
        assertTrue(w.formatName().startsWith(expectedFormat), module + ": " + w.formatName());
        int n = w.outFeatures(), k = w.inFeatures();
        float[] eye = new float[k * k];
        for (int i = 0; i < k; i++) {
            eye[i * k + i] = 1;
        }
        float[] wt;
        try (Tensor x = Tensors.fromFloats(CPU, DType.F32, eye, k, k); Tensor out = CPU.allocate(DType.F32, k, n)) {
            CPU.linear(new Linear(x, w, null, out));
            wt = Tensors.toFloats(out);
        }
        double maxErr = 0, sumSq = 0, sumSqDense = 0;
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                float dense = RandomCheckpoint.value(SEED, module + ".weight", (long) r * k + c);
                float got = wt[c * n + r];
                double bound = switch (format) {
                    case FP8, FP8_BLOCK, FP8_DYNAMIC -> Math.abs(dense) * (0x1.0p-4 + 0x1.0p-8) + 1e-3 / 448 * 0x1.0p-9;
                    case GPTQ_8BIT, W8A16 -> 6e-6;
                    default -> 2e-3 / 15 * (1 + 0x1.0p-8) * (0.5 + 16 * 0x1.0p-8);
                };
                double err = Math.abs(got - dense);
                assertTrue(err <= bound, module + "[" + r + ", " + c + "] = " + got + ", dense " + dense + ": error "
                        + err + " > " + bound);
                maxErr = Math.max(maxErr, err);
                sumSq += (double) got * got;
                sumSqDense += (double) dense * dense;
            }
        }
        assertTrue(maxErr > 0, module + ": quantization must round something");
        // sane activations: the same spread as the dense init (std 1e-3/sqrt(3))
        double ratio = Math.sqrt(sumSq / sumSqDense);
        assertEquals(1, ratio, 0.05, module + ": dequantized std / dense std");
    }

    @Test
    void configsNameTheirPublishedFieldsAndUnsupportedArchitecturesFail(@TempDir Path tmp) throws Exception {
        RandomQuantization block = new RandomQuantization(Format.FP8_BLOCK, 128, DType.BF16, 1);
        assertEquals("{\"quant_method\":\"fp8\",\"activation_scheme\":\"dynamic\",\"fmt\":\"e4m3\","
                + "\"weight_block_size\":[128,128],\"modules_to_not_convert\":null}", block.config().toString());
        String gptq = new RandomQuantization(Format.GPTQ_ACT_ORDER, 128, DType.BF16, 1).config().toString();
        assertTrue(gptq.contains("\"desc_act\":true") && gptq.contains("\"checkpoint_format\":\"gptq\""), gptq);
        ObjectNode mixtral = config();
        mixtral.putArray("architectures").add("MixtralForCausalLM");
        var e = assertThrows(IllegalArgumentException.class, () -> RandomCheckpoint.write(mixtral, tmp.resolve("m"),
                DType.BF16, 1, RandomCheckpoint.DEFAULT_MAX_SHARD_BYTES,
                new RandomQuantization(Format.AWQ, 128, DType.BF16, 1)));
        assertTrue(e.getMessage().contains("MixtralForCausalLM") && e.getMessage().contains("LlamaForCausalLM"),
                e.getMessage());
        assertFalse(Files.exists(tmp.resolve("m")), "nothing is written for a refused config");
        var g = assertThrows(IllegalArgumentException.class, () -> new RandomQuantization(Format.W4A16_ASYM, -1,
                DType.BF16, 1));
        assertTrue(g.getMessage().contains("w4a16-asym"), g.getMessage());
    }

    @Test
    void shardedQuantizedCheckpointsLoad(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("sharded");
        RandomCheckpoint.write(config(), dir, DType.BF16, SEED, 300_000, new RandomQuantization(Format.GPTQ, GROUP,
                DType.BF16, SEED));
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors.index.json")));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.toString().endsWith(".tmp")));
        }
        try (CausalLM model = ModelLoader.load(dir, CPU, ParallelConfig.single(), DType.F32, null)) {
            assertNotNull(model);
        }
    }
}
