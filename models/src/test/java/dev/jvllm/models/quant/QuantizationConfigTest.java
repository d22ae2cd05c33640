package dev.jvllm.models.quant;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.quant.LinearScheme.Fp8Activation;
import dev.jvllm.models.quant.LinearScheme.Fp8Scales;
import dev.jvllm.models.quant.LinearScheme.Packing;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-layer decision (vLLM's get_quant_method) for every method, and the errors for what is not supported. */
class QuantizationConfigTest {
    static final String QKV = "model.layers.0.self_attn.qkv_proj";
    static final String O = "model.layers.0.self_attn.o_proj";
    static final String GATE_UP = "model.layers.1.mlp.gate_up_proj";
    static final String DOWN = "model.layers.1.mlp.down_proj";

    static QuantizationConfig config(String quantizationConfig) {
        return QuantizationConfig.of(ModelConfig.parse("{\"quantization_config\": " + quantizationConfig + "}",
                "config.json"));
    }

    static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    static void assertMentions(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "expected \"" + p + "\" in: " + message);
        }
    }

    @Test
    void noQuantizationConfigMeansFullPrecision() {
        QuantizationConfig q = QuantizationConfig.of(ModelConfig.parse("{}", "config.json"));
        assertFalse(q.isQuantized());
        assertEquals(LinearScheme.DENSE, q.schemeFor(QKV, 3));
    }

    @Test
    void fp8PerTensorStaticWithIgnoredLayersExpandedToShards() {
        QuantizationConfig q = config("""
                {"quant_method": "fp8", "activation_scheme": "static", "ignored_layers": [
                 "model.layers.1.mlp.gate_proj", "model.layers.1.mlp.up_proj", "model.layers.0.self_attn.o_proj"]}""");
        assertEquals(new LinearScheme.Fp8(Fp8Scales.TENSOR, 0, 0, "weight_scale", Fp8Activation.STATIC),
                q.schemeFor(QKV, 3));
        assertEquals(LinearScheme.DENSE, q.schemeFor(GATE_UP, 2));
        assertEquals(LinearScheme.DENSE, q.schemeFor(O, 1));
        assertEquals(List.of("weight", "weight_scale", "input_scale"), q.schemeFor(DOWN, 1).requiredTensors());
    }

    @Test
    void fusedShardsThatDisagreeFailNamingEachShard() {
        QuantizationConfig q = config("""
                {"quant_method": "fp8", "activation_scheme": "dynamic", "ignored_layers": ["model.layers.1.mlp.up_proj"]}""");
        assertMentions(error(() -> q.schemeFor(GATE_UP, 2)), "fused layer " + GATE_UP, "model.layers.1.mlp.gate_proj: fp8",
                "model.layers.1.mlp.up_proj: full precision", "ignored_layers");
    }

    @Test
    void fp8BlockQuantizesActivationsPerTokenGroupAndRejectsStaticActivations() {
        QuantizationConfig q = config("""
                {"quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [128, 128], "fmt": "e4m3",
                 "modules_to_not_convert": ["model.layers.1.mlp"], "scale_fmt": "float", "dequantize": false}""");
        assertEquals(new LinearScheme.Fp8(Fp8Scales.BLOCK, 128, 128, "weight_scale_inv",
                Fp8Activation.DYNAMIC_PER_TOKEN_GROUP), q.schemeFor(QKV, 3));
        // no activation_scheme: dynamic is the default (vLLM and transformers)
        assertEquals(Fp8Activation.DYNAMIC_PER_TOKEN_GROUP, ((LinearScheme.Fp8) config("""
                {"quant_method": "fp8", "weight_block_size": [64, 64]}""").schemeFor(O, 1)).activation());
        assertEquals(LinearScheme.DENSE, q.schemeFor(DOWN, 1)); // transformers: entry + "." is a prefix of the name
        assertMentions(error(() -> config("""
                {"quant_method": "fp8", "activation_scheme": "static", "weight_block_size": [128, 128]}""")),
                "quantization_config.activation_scheme", "dynamic");
        assertMentions(error(() -> config("{\"quant_method\": \"fp8\", \"weight_block_size\": [128]}")),
                "weight_block_size");
        assertMentions(error(() -> config("{\"quant_method\": \"fp8\", \"fmt\": \"e5m2\"}")), "fmt", "e4m3");
    }

    @Test
    void gptqDecidesBitsGroupsActOrderAndDynamicRulesPerModule() {
        QuantizationConfig q = config("""
                {"quant_method": "gptq", "bits": 4, "group_size": 128, "desc_act": true, "sym": false,
                 "checkpoint_format": "gptq_v2", "dynamic": {
                   "-:.*\\\\.down_proj": {},
                   "+:model\\\\.layers\\\\.0\\\\.self_attn\\\\..*": {"group_size": 64, "desc_act": false},
                   ".*\\\\.layers\\\\.1\\\\..*": {"bits": 8, "group_size": -1, "sym": true}}}""");
        assertEquals(new LinearScheme.Int4(Packing.GPTQ, 64, false, true, false), q.schemeFor(QKV, 3));
        assertEquals(LinearScheme.DENSE, q.schemeFor(DOWN, 1)); // the first matching rule wins
        assertEquals(new LinearScheme.Int8(Packing.GPTQ, false), q.schemeFor(GATE_UP, 2));
        assertEquals(new LinearScheme.Int4(Packing.GPTQ, 128, true, true, false),
                q.schemeFor("model.layers.2.self_attn.o_proj", 1));
        assertEquals(List.of("qweight", "qzeros", "scales", "g_idx"),
                q.schemeFor("model.layers.2.self_attn.o_proj", 1).requiredTensors());
        // group_size -1 has no act order to apply
        assertEquals(new LinearScheme.Int4(Packing.GPTQ, -1, false, false, true), config("""
                {"quant_method": "gptq", "bits": 4, "group_size": -1, "desc_act": true}""").schemeFor(O, 1));
    }

    @Test
    void gptqModulesInBlockToQuantizeIsASubstringList() {
        QuantizationConfig q = config("""
                {"quant_method": "gptq", "bits": 4, "group_size": 32, "modules_in_block_to_quantize":
                 [["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"], ["mlp.down_proj"]]}""");
        assertInstanceOf(LinearScheme.Int4.class, q.schemeFor(QKV, 3));
        assertInstanceOf(LinearScheme.Int4.class, q.schemeFor(DOWN, 1));
        assertEquals(LinearScheme.DENSE, q.schemeFor(O, 1));
    }

    @Test
    void unsupportedGptqConfigsFailNamingTheFieldAndTheFix() {
        assertMentions(error(() -> config("{\"quant_method\": \"gptq\", \"bits\": 8, \"group_size\": 128}")),
                "quantization_config.bits", "group_size=128", "group_size -1", "4-bit");
        assertMentions(error(() -> config("{\"quant_method\": \"gptq\", \"bits\": 3, \"group_size\": 128}")),
                "3-bit GPTQ is not supported");
        assertMentions(error(() -> config("""
                {"quant_method": "gptq", "bits": 4, "group_size": 128, "checkpoint_format": "marlin"}""")),
                "checkpoint_format", "marlin");
        assertMentions(error(() -> config("{\"quant_method\": \"gptq\", \"bits\": 4, \"group_size\": 128, \"lm_head\": true}")),
                "lm_head", "full precision");
        assertMentions(error(() -> config("{\"quant_method\": \"gptq\", \"group_size\": 128}")),
                "quantization_config.bits is missing");
        assertMentions(error(() -> config("""
                {"quant_method": "gptq", "bits": 4, "group_size": 128, "dynamic": {"+:model(": {}}}""")),
                "dynamic", "invalid regular expression");
        assertMentions(error(() -> config("""
                {"quant_method": "gptq", "bits": 4, "group_size": 32, "dynamic": {".*layers\\\\.1\\\\..*": {"bits": 8}}}""")
                .schemeFor(DOWN, 1)), "dynamic[\".*layers\\.1\\..*\"]", "group_size=32");
    }

    @Test
    void awqSkipsModulesToNotConvertAndRejectsOtherPackings() {
        QuantizationConfig q = config("""
                {"quant_method": "awq", "bits": 4, "group_size": 128, "zero_point": true, "version": "GEMM",
                 "modules_to_not_convert": ["down_proj"]}""");
        assertEquals(new LinearScheme.Int4(Packing.AWQ, 128, false, true, false), q.schemeFor(QKV, 3));
        assertEquals(LinearScheme.DENSE, q.schemeFor(DOWN, 1));
        assertMentions(error(() -> config("""
                {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemv"}""")), "version", "gemm");
        assertMentions(error(() -> config("{\"quant_method\": \"awq\", \"bits\": 8, \"group_size\": 128}")), "8-bit AWQ");
    }

    static String ct(String groups, String extra) {
        return "{\"quant_method\": \"compressed-tensors\", \"format\": \"pack-quantized\", \"ignore\": [\"lm_head\","
                + " \"re:.*layers\\\\.1\\\\.mlp\\\\.down_proj$\"], \"config_groups\": " + groups + extra + "}";
    }

    static final String W4A16 = """
            {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int", "symmetric": false,
             "strategy": "group", "group_size": 128, "actorder": "group"}, "input_activations": null}}""";

    @Test
    void compressedTensorsMatchesIgnoreThenExactOrRegexTargetsThenTheClassName() {
        QuantizationConfig q = config(ct("""
                {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int", "symmetric": true,
                  "strategy": "group", "group_size": 128}},
                 "group_1": {"targets": ["re:.*self_attn\\\\.[qkv]_proj"], "format": "float-quantized",
                  "weights": {"num_bits": 8, "type": "float", "strategy": "channel", "symmetric": true},
                  "input_activations": {"num_bits": 8, "type": "float", "strategy": "token", "dynamic": true}},
                 "group_2": {"targets": ["model.layers.0.self_attn.o_proj"], "format": "int-quantized",
                  "weights": {"num_bits": 8, "type": "int", "strategy": "channel", "symmetric": true}}}""", ""));
        assertEquals(new LinearScheme.Fp8(Fp8Scales.CHANNEL, 0, 0, "weight_scale", Fp8Activation.DYNAMIC_PER_TOKEN),
                q.schemeFor(QKV, 3));
        assertEquals(new LinearScheme.Int8(Packing.PLAIN, false), q.schemeFor(O, 1));
        assertEquals(new LinearScheme.Int4(Packing.PACKED, 128, false, false, false), q.schemeFor(GATE_UP, 2));
        assertEquals(LinearScheme.DENSE, q.schemeFor(DOWN, 1));
        assertEquals(new LinearScheme.Int4(Packing.PACKED, 128, true, true, false), config(ct(W4A16, ""))
                .schemeFor(QKV, 3));
        assertEquals(List.of("weight_packed", "weight_scale", "weight_shape", "weight_zero_point", "weight_g_idx"),
                config(ct(W4A16, "")).schemeFor(QKV, 3).requiredTensors());
    }

    @Test
    void compressedTensorsFp8StrategiesAndActivationSchemes() {
        String group = """
                {"g": {"targets": ["Linear"], "format": "float-quantized", "weights": {"num_bits": 8, "type": "float",
                 "strategy": "%s", "block_structure": [128, 128]}, "input_activations": %s}}""";
        assertEquals(new LinearScheme.Fp8(Fp8Scales.TENSOR, 0, 0, "weight_scale", Fp8Activation.STATIC), config(ct(
                group.formatted("tensor", "{\"num_bits\": 8, \"type\": \"float\", \"strategy\": \"tensor\", \"dynamic\": false}"),
                "")).schemeFor(O, 1));
        // block weights: dynamic activations in groups of block_k whatever the strategy (vLLM's W8A8Fp8)
        for (String strategy : List.of("\"group\", \"group_size\": 128", "\"token\"")) {
            assertEquals(new LinearScheme.Fp8(Fp8Scales.BLOCK, 128, 128, "weight_scale", Fp8Activation.DYNAMIC_PER_TOKEN_GROUP),
                    config(ct(group.formatted("block", "{\"num_bits\": 8, \"type\": \"float\", \"strategy\": "
                            + strategy + ", \"dynamic\": true}"), "")).schemeFor(O, 1), strategy);
        }
        assertEquals(new LinearScheme.Fp8(Fp8Scales.BLOCK, 128, 128, "weight_scale", Fp8Activation.NONE),
                config(ct(group.formatted("block", "null"), "")).schemeFor(O, 1)); // W8A16
        assertEquals(new LinearScheme.Fp8(Fp8Scales.CHANNEL, 0, 0, "weight_scale", Fp8Activation.DYNAMIC_PER_TOKEN),
                config(ct(group.formatted("channel", "{\"num_bits\": 8, \"type\": \"float\", \"strategy\": \"token\","
                        + " \"dynamic\": true}"), "")).schemeFor(O, 1));
        assertEquals(new LinearScheme.Fp8(Fp8Scales.CHANNEL, 0, 0, "weight_scale", Fp8Activation.NONE),
                config(ct(group.formatted("channel", "null"), "")).schemeFor(O, 1));
    }

    @Test
    void unsupportedCompressedTensorsConfigsFailNamingTheField() {
        assertMentions(error(() -> config(ct("""
                {"g": {"targets": ["Linear"], "format": "int-quantized", "weights": {"num_bits": 8, "type": "int",
                 "strategy": "channel"}, "input_activations": {"num_bits": 8, "type": "int", "strategy": "token",
                 "dynamic": true}}}""", ""))), "config_groups.g.input_activations", "W8A8", "weight-only");
        assertMentions(error(() -> config(ct(W4A16, ", \"kv_cache_scheme\": {\"num_bits\": 8, \"type\": \"float\"}"))),
                "kv_cache_scheme");
        assertMentions(error(() -> config(ct(W4A16, ", \"sparsity_config\": {\"format\": \"sparse-24-bitmask\"}"))),
                "sparsity_config", "sparse-24-bitmask");
        assertMentions(error(() -> config(ct("""
                {"g": {"targets": ["Linear"], "format": "nvfp4-pack-quantized", "weights": {"num_bits": 4,
                 "type": "float", "strategy": "tensor_group", "group_size": 16}}}""", ""))), "config_groups.g.weights.type",
                "float");
        assertMentions(error(() -> config(ct("""
                {"g": {"targets": ["Linear"], "weights": {"num_bits": 8, "type": "int", "strategy": "group",
                 "group_size": 128}}}""", ""))), "config_groups.g.weights.strategy", "per-channel");
        assertMentions(error(() -> config(ct("""
                {"g": {"targets": ["re:.*mlp.*"], "weights": {"num_bits": 4, "type": "int", "strategy": "group",
                 "group_size": 128}}}""", "")).schemeFor(QKV, 3)), "model.layers.0.self_attn.q_proj", "matches no group",
                "ignore");
    }

    @Test
    void unknownMethodsFailNamingTheSupportedOnes() {
        assertMentions(error(() -> config("{\"quant_method\": \"bitsandbytes\", \"load_in_4bit\": true}")),
                "quantization_config.quant_method", "bitsandbytes", "fp8, gptq, awq and compressed-tensors");
        assertMentions(error(() -> config("{\"foo\": 1}")), "quant_method is missing");
    }

    // ---- with the checkpoint ----

    static CheckpointTensor t(String name, DType dtype) {
        return new CheckpointTensor(name, dtype, new long[] {1}, MemorySegment.ofArray(new byte[8]), Path.of("m.safetensors"));
    }

    static List<CheckpointTensor> gptqLayer(String module) {
        return List.of(t(module + ".qweight", DType.I32), t(module + ".qzeros", DType.I32), t(module + ".scales", DType.F16),
                t(module + ".g_idx", DType.I32));
    }

    @Test
    void quantizeConfigJsonIsReadWhenConfigJsonHasNoQuantizationConfig(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("quantize_config.json"), """
                {"bits": 4, "group_size": 128, "desc_act": false, "sym": true, "model_file_base_name": "model"}""");
        List<CheckpointTensor> ckpt = new ArrayList<>(gptqLayer(O));
        ckpt.add(t(DOWN + ".weight", DType.BF16)); // GPTQ quantizes what the checkpoint stores quantized, as vLLM
        QuantizationConfig q = QuantizationConfig.load(dir, ModelConfig.parse("{}", "config.json"), ckpt);
        assertEquals("gptq", q.method());
        assertEquals(new LinearScheme.Int4(Packing.GPTQ, 128, false, false, true), q.schemeFor(O, 1));
        assertEquals(LinearScheme.DENSE, q.schemeFor(DOWN, 1));
    }

    @Test
    void aLayerFusedOnDiskIsDecidedByItsOwnName(@TempDir Path dir) throws Exception {
        ModelConfig gptq = ModelConfig.parse(
                "{\"quantization_config\": {\"quant_method\": \"gptq\", \"bits\": 4, \"group_size\": 128}}", "config.json");
        List<CheckpointTensor> ckpt = new ArrayList<>(gptqLayer(QKV)); // Phi-3 stores qkv_proj fused
        ckpt.add(t(GATE_UP + ".weight", DType.BF16));
        QuantizationConfig q = QuantizationConfig.load(dir, gptq, ckpt);
        assertInstanceOf(LinearScheme.Int4.class, q.schemeFor(QKV, 3));
        assertEquals(LinearScheme.DENSE, q.schemeFor(GATE_UP, 2));
    }

    @Test
    void aDecisionTheCheckpointContradictsFailsBeforeLoading(@TempDir Path dir) throws Exception {
        ModelConfig fp8 = ModelConfig.parse("""
                {"quantization_config": {"quant_method": "fp8", "activation_scheme": "dynamic",
                 "weight_block_size": [128, 128], "ignored_layers": ["model.layers.0.self_attn.o_proj"]}}""", "config.json");
        // a quantized layer stored in full precision
        QuantizationConfig q = QuantizationConfig.load(dir, fp8, List.of(t(DOWN + ".weight", DType.BF16)));
        assertMentions(error(() -> q.schemeFor(DOWN, 1)), DOWN, "full precision (weight BF16)", "ignored_layers");
        // a missing scale tensor
        QuantizationConfig q2 = QuantizationConfig.load(dir, fp8, List.of(t(DOWN + ".weight", DType.F8_E4M3),
                t(DOWN + ".weight_scale", DType.F32)));
        assertMentions(error(() -> q2.schemeFor(DOWN, 1)), "no tensor " + DOWN + ".weight_scale_inv", "weight_block_size");
        // a full-precision decision for a layer stored quantized
        QuantizationConfig q3 = QuantizationConfig.load(dir, fp8, List.of(t(O + ".weight", DType.F8_E4M3),
                t(O + ".weight_scale_inv", DType.F32)));
        assertMentions(error(() -> q3.schemeFor(O, 1)), O, "stores this layer quantized", "remove it");
        // a quantized LM head
        var e = assertThrows(IllegalArgumentException.class, () -> QuantizationConfig.load(dir, fp8, gptqLayer("lm_head")));
        assertMentions(e.getMessage(), "lm_head", "full precision");
    }
}
