package dev.jvllm.models.loader;

import dev.jvllm.api.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** config.json snippets shaped like the real checkpoints', in transformers 4 and 5 spellings. */
class ModelConfigTest {

    private static ModelConfig parse(String json) {
        return ModelConfig.parse(json, "config.json");
    }

    private static void assertError(Runnable r, String... fragments) {
        ConfigException e = assertThrows(ConfigException.class, r::run);
        assertTrue(e.getMessage().startsWith("config.json"), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "message should contain \"" + f + "\": " + e.getMessage());
        }
    }

    // Meta-Llama-3.1-8B-Instruct, as published.
    static final String LLAMA_3_1 = """
            {
              "architectures": ["LlamaForCausalLM"],
              "attention_bias": false,
              "attention_dropout": 0.0,
              "bos_token_id": 128000,
              "eos_token_id": [128001, 128008, 128009],
              "hidden_act": "silu",
              "hidden_size": 4096,
              "initializer_range": 0.02,
              "intermediate_size": 14336,
              "max_position_embeddings": 131072,
              "mlp_bias": false,
              "model_type": "llama",
              "num_attention_heads": 32,
              "num_hidden_layers": 32,
              "num_key_value_heads": 8,
              "pretraining_tp": 1,
              "rms_norm_eps": 1e-05,
              "rope_scaling": {
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
                "rope_type": "llama3"
              },
              "rope_theta": 500000.0,
              "tie_word_embeddings": false,
              "torch_dtype": "bfloat16",
              "transformers_version": "4.43.0.dev0",
              "use_cache": true,
              "vocab_size": 128256
            }
            """;

    @Test
    void llama3() {
        ModelConfig c = parse(LLAMA_3_1);
        assertEquals(List.of("LlamaForCausalLM"), c.architectures());
        assertEquals("llama", c.modelType());
        assertEquals(4096, c.hiddenSize());
        assertEquals(14336, c.intermediateSize());
        assertEquals(32, c.numHiddenLayers());
        assertEquals(32, c.numAttentionHeads());
        assertEquals(8, c.numKeyValueHeads());
        assertEquals(128, c.headDim());
        assertEquals(128256, c.vocabSize());
        assertEquals(131072, c.maxPositionEmbeddings());
        assertEquals(1e-5, c.normEps());
        assertEquals(500000.0, c.ropeTheta());
        RopeScaling r = c.ropeScaling();
        assertEquals(RopeScaling.Type.LLAMA3, r.type());
        assertEquals(8.0, r.factor());
        assertEquals(1.0, r.lowFreqFactor());
        assertEquals(4.0, r.highFreqFactor());
        assertEquals(OptionalInt.of(8192), r.originalMaxPositionEmbeddings());
        assertEquals(1.0, c.partialRotaryFactor());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(OptionalInt.empty(), c.slidingWindow());
        assertEquals(List.of(), c.layerTypes());
        assertEquals("silu", c.hiddenAct());
        assertFalse(c.attentionBias());
        assertFalse(c.mlpBias());
        assertEquals(Optional.of("bfloat16"), c.torchDtype());
        assertEquals(Optional.of(DType.BF16), c.dtype());
        assertEquals(OptionalInt.of(128000), c.bosTokenId());
        assertEquals(List.of(128001, 128008, 128009), c.eosTokenIds());
        assertEquals(OptionalInt.empty(), c.padTokenId());
        assertEquals(0.02, c.getDouble("initializer_range", 0));
        assertTrue(c.getBoolean("use_cache", false));
    }

    @Test
    void qwen2() {
        // Qwen2.5-0.5B-Instruct: writes a sliding window it does not use.
        ModelConfig c = parse("""
                {
                  "architectures": ["Qwen2ForCausalLM"],
                  "attention_dropout": 0.0,
                  "bos_token_id": 151643,
                  "eos_token_id": 151645,
                  "hidden_act": "silu",
                  "hidden_size": 896,
                  "initializer_range": 0.02,
                  "intermediate_size": 4864,
                  "max_position_embeddings": 32768,
                  "max_window_layers": 21,
                  "model_type": "qwen2",
                  "num_attention_heads": 14,
                  "num_hidden_layers": 24,
                  "num_key_value_heads": 2,
                  "rms_norm_eps": 1e-06,
                  "rope_theta": 1000000.0,
                  "sliding_window": 32768,
                  "tie_word_embeddings": true,
                  "torch_dtype": "bfloat16",
                  "transformers_version": "4.43.1",
                  "use_cache": true,
                  "use_sliding_window": false,
                  "vocab_size": 151936
                }
                """);
        assertEquals(64, c.headDim());
        assertEquals(2, c.numKeyValueHeads());
        assertEquals(1e-6, c.normEps());
        assertEquals(1e6, c.ropeTheta());
        assertEquals(RopeScaling.NONE, c.ropeScaling());
        assertEquals(OptionalInt.empty(), c.slidingWindow(), "use_sliding_window=false");
        assertEquals(32768, c.getInt("sliding_window", 0));
        assertEquals(21, c.getInt("max_window_layers", 0));
        assertTrue(c.tieWordEmbeddings());
        assertEquals(List.of(151645), c.eosTokenIds());
    }

    @Test
    void phi3LongRope() {
        // Phi-3-mini-128k-instruct (factor lists shortened): original_max_position_embeddings at top level.
        ModelConfig c = parse("""
                {
                  "architectures": ["Phi3ForCausalLM"],
                  "bos_token_id": 1,
                  "embd_pdrop": 0.0,
                  "eos_token_id": 32000,
                  "hidden_act": "silu",
                  "hidden_size": 3072,
                  "intermediate_size": 8192,
                  "max_position_embeddings": 131072,
                  "model_type": "phi3",
                  "num_attention_heads": 32,
                  "num_hidden_layers": 32,
                  "num_key_value_heads": 32,
                  "original_max_position_embeddings": 4096,
                  "pad_token_id": 32000,
                  "rms_norm_eps": 1e-05,
                  "rope_scaling": {
                    "long_factor": [1.0700000524520874, 1.1200000047683716, 1.149999976158142, 1.4199999570846558],
                    "short_factor": [1.0, 1.0199999809265137, 1.0299999713897705, 1.0299999713897705],
                    "type": "longrope"
                  },
                  "rope_theta": 10000.0,
                  "sliding_window": 262144,
                  "tie_word_embeddings": false,
                  "torch_dtype": "bfloat16",
                  "vocab_size": 32064
                }
                """);
        RopeScaling r = c.ropeScaling();
        assertEquals(RopeScaling.Type.LONGROPE, r.type());
        assertArrayEquals(new double[] {1.0, 1.0199999809265137, 1.0299999713897705, 1.0299999713897705}, r.shortFactor());
        assertEquals(4, r.longFactor().length);
        assertEquals(1.4199999570846558, r.longFactor()[3]);
        assertEquals(OptionalInt.of(4096), r.originalMaxPositionEmbeddings(), "copied from the top level");
        assertEquals(OptionalDouble.empty(), r.attentionFactor());
        assertEquals(96, c.headDim());
        assertEquals(OptionalInt.of(32000), c.padTokenId());
        assertEquals(OptionalInt.of(262144), c.slidingWindow());
        // The first Phi-3 release spelled it "su".
        assertEquals(RopeScaling.Type.LONGROPE,
                parse("{\"rope_scaling\": {\"type\": \"su\", \"short_factor\": [1], \"long_factor\": [2]}}").ropeScaling().type());
    }

    @Test
    void gemma2() {
        ModelConfig c = parse("""
                {
                  "architectures": ["Gemma2ForCausalLM"],
                  "attention_bias": false,
                  "attn_logit_softcapping": 50.0,
                  "bos_token_id": 2,
                  "cache_implementation": "hybrid",
                  "eos_token_id": [1, 107],
                  "final_logit_softcapping": 30.0,
                  "head_dim": 256,
                  "hidden_act": "gelu_pytorch_tanh",
                  "hidden_activation": "gelu_pytorch_tanh",
                  "hidden_size": 2304,
                  "intermediate_size": 9216,
                  "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
                  "max_position_embeddings": 8192,
                  "model_type": "gemma2",
                  "num_attention_heads": 8,
                  "num_hidden_layers": 4,
                  "num_key_value_heads": 4,
                  "pad_token_id": 0,
                  "query_pre_attn_scalar": 256,
                  "rms_norm_eps": 1e-06,
                  "rope_theta": 10000.0,
                  "sliding_window": 4096,
                  "torch_dtype": "float32",
                  "vocab_size": 256000
                }
                """);
        assertEquals(256, c.headDim(), "explicit head_dim, not 2304/8");
        assertEquals(List.of("sliding_attention", "full_attention", "sliding_attention", "full_attention"), c.layerTypes());
        assertEquals(50.0, c.getDouble("attn_logit_softcapping", 0));
        assertEquals(30.0, c.optionalDouble("final_logit_softcapping").orElseThrow());
        assertEquals(256, c.requireInt("query_pre_attn_scalar"));
        assertEquals(256.0, c.requireDouble("query_pre_attn_scalar"));
        assertEquals("gelu_pytorch_tanh", c.hiddenAct());
        assertTrue(c.tieWordEmbeddings(), "absent → true (PretrainedConfig's default)");
        assertFalse(c.tieWordEmbeddings(false), "absent → the caller's default");
        assertEquals(OptionalInt.of(4096), c.slidingWindow());
        assertEquals(Optional.of(DType.F32), c.dtype());
        assertEquals(List.of(1, 107), c.eosTokenIds());
        assertEquals(10000.0, c.ropeTheta("sliding_attention"));
    }

    @Test
    void mistral() {
        ModelConfig v01 = parse("""
                {"architectures": ["MistralForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
                 "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
                 "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
                 "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 32000}
                """);
        assertEquals(OptionalInt.of(4096), v01.slidingWindow());
        ModelConfig v03 = parse("""
                {"architectures": ["MistralForCausalLM"], "head_dim": null, "hidden_size": 4096,
                 "num_attention_heads": 32, "rope_theta": 1000000.0, "sliding_window": null, "vocab_size": 32768}
                """);
        assertEquals(OptionalInt.empty(), v03.slidingWindow());
        assertEquals(128, v03.headDim(), "head_dim null → hidden_size / heads");
        assertFalse(v03.has("sliding_window"));
        assertFalse(v03.has("head_dim"));
    }

    @Test
    void transformers5RopeParametersAndNonFiniteFloats() {
        ModelConfig c = parse("""
                {
                  "architectures": ["Qwen3ForCausalLM"],
                  "dtype": "bfloat16",
                  "hidden_size": 128,
                  "num_attention_heads": 4,
                  "num_hidden_layers": 2,
                  "rope_parameters": {
                    "rope_type": "yarn",
                    "rope_theta": 1000000.0,
                    "factor": 4.0,
                    "original_max_position_embeddings": 32768,
                    "beta_fast": 32,
                    "beta_slow": 1,
                    "attention_factor": {"__float__": "NaN"},
                    "partial_rotary_factor": 0.5,
                    "truncate": false
                  },
                  "attn_logit_softcapping": {"__float__": "Infinity"},
                  "final_logit_softcapping": {"__float__": "-Infinity"},
                  "eps_list": [1.0, {"__float__": "Infinity"}],
                  "transformers_version": "5.0.0"
                }
                """);
        assertEquals(1e6, c.ropeTheta());
        assertEquals(0.5, c.partialRotaryFactor());
        RopeScaling r = c.ropeScaling();
        assertEquals(RopeScaling.Type.YARN, r.type());
        assertEquals(4.0, r.factor());
        assertEquals(32.0, r.betaFast());
        assertEquals(1.0, r.betaSlow());
        assertTrue(Double.isNaN(r.attentionFactor().orElseThrow()));
        assertEquals(OptionalInt.of(32768), r.originalMaxPositionEmbeddings());
        assertEquals(Optional.of(false), r.get("truncate"));
        assertFalse(r.parameters().containsKey("rope_theta"), "theta is not a scaling parameter");
        assertEquals(Double.POSITIVE_INFINITY, c.getDouble("attn_logit_softcapping", 0));
        assertEquals(Double.NEGATIVE_INFINITY, c.optionalDouble("final_logit_softcapping").orElseThrow());
        assertEquals(List.of(1.0, Double.POSITIVE_INFINITY), c.getDoubleList("eps_list"));
        assertEquals(Optional.of(DType.BF16), c.dtype(), "transformers 5 writes dtype, not torch_dtype");
        assertEquals(32, c.headDim());
    }

    @Test
    void bareNonFiniteTokensAsPythonWritesThem() {
        ModelConfig c = parse("{\"a\": Infinity, \"b\": -Infinity, \"c\": NaN, \"d\": 1e400}");
        assertEquals(Double.POSITIVE_INFINITY, c.getDouble("a", 0));
        assertEquals(Double.NEGATIVE_INFINITY, c.getDouble("b", 0));
        assertTrue(Double.isNaN(c.getDouble("c", 0)));
        assertEquals(Double.POSITIVE_INFINITY, c.getDouble("d", 0));
        assertError(() -> c.getInt("a", 0), "config.json: a", "Infinity", "integer");
    }

    @Test
    void gemma3PerLayerTypeRope() {
        // transformers 5: rope_parameters keyed by layer type.
        ModelConfig t5 = parse("""
                {"layer_types": ["sliding_attention", "full_attention"], "num_hidden_layers": 2,
                 "rope_parameters": {
                   "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                   "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0}}}
                """);
        assertEquals(RopeScaling.Type.LINEAR, t5.ropeScaling("full_attention").type());
        assertEquals(8.0, t5.ropeScaling("full_attention").factor());
        assertEquals(RopeScaling.NONE, t5.ropeScaling("sliding_attention"));
        assertEquals(1e6, t5.ropeTheta("full_attention"));
        assertEquals(1e4, t5.ropeTheta("sliding_attention"));
        assertEquals(RopeScaling.Type.LINEAR, t5.ropeScaling().type(), "no layer type → full_attention");
        // transformers 4: global rope_theta + rope_scaling, rope_local_base_freq for sliding layers.
        ModelConfig t4 = parse("""
                {"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
                 "rope_scaling": {"rope_type": "linear", "factor": 8.0}}
                """);
        assertEquals(1e6, t4.ropeTheta("full_attention"));
        assertEquals(1e4, t4.ropeTheta("sliding_attention"));
        assertEquals(RopeScaling.Type.LINEAR, t4.ropeScaling("full_attention").type());
        assertEquals(RopeScaling.NONE, t4.ropeScaling("sliding_attention"));
        ModelConfig onlySliding = parse("{\"rope_parameters\": {\"sliding_attention\": {\"rope_type\": \"default\"}}}");
        assertError(onlySliding::ropeScaling, "rope_parameters", "per layer type", "sliding_attention");
    }

    @Test
    void otherRopeSpellings() {
        assertEquals(RopeScaling.Type.LINEAR, parse("{\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}").ropeScaling().type());
        assertEquals(RopeScaling.Type.DYNAMIC, parse("{\"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}}").ropeScaling().type());
        RopeScaling mrope = parse("{\"rope_scaling\": {\"type\": \"mrope\", \"mrope_section\": [16, 24, 24]}}").ropeScaling();
        assertEquals(RopeScaling.Type.DEFAULT, mrope.type());
        assertEquals(Optional.of(List.of(16L, 24L, 24L)), mrope.get("mrope_section"));
        RopeScaling ds = parse("""
                {"rope_scaling": {"type": "yarn", "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                                  "original_max_position_embeddings": 4096, "beta_fast": 32, "beta_slow": 1}}
                """).ropeScaling();
        assertEquals(OptionalDouble.of(1.0), ds.mscaleAllDim());
        assertEquals(40.0, ds.factor());
        assertEquals(RopeScaling.NONE, parse("{\"rope_scaling\": null}").ropeScaling());
        assertEquals(10000.0, parse("{}").ropeTheta(), "transformers' default base");
        assertEquals(0.4, parse("{\"partial_rotary_factor\": 0.4}").partialRotaryFactor());
    }

    @Test
    void gpt2Aliases() {
        ModelConfig c = parse("""
                {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "layer_norm_epsilon": 1e-05,
                 "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_inner": null, "n_layer": 12,
                 "n_positions": 1024, "vocab_size": 50257}
                """);
        assertEquals(768, c.hiddenSize());
        assertEquals(12, c.numHiddenLayers());
        assertEquals(12, c.numAttentionHeads());
        assertEquals(12, c.numKeyValueHeads());
        assertEquals(64, c.headDim());
        assertEquals(1024, c.maxPositionEmbeddings());
        assertEquals(1e-5, c.normEps());
        assertEquals("gelu_new", c.hiddenAct());
        assertError(c::intermediateSize, "intermediate_size", "n_inner", "missing");
        assertEquals(OptionalInt.empty(), c.optionalInt("n_inner"));
    }

    @Test
    void nestedTextConfig() {
        ModelConfig c = parse("""
                {"architectures": ["Gemma3ForConditionalGeneration"],
                 "text_config": {"hidden_size": 2560, "num_attention_heads": 8, "head_dim": 256, "hidden_activation": 7},
                 "vision_config": {"hidden_size": 1152}}
                """);
        ModelConfig t = c.textConfig();
        assertEquals(2560, t.hiddenSize());
        assertEquals(1152, c.subConfig("vision_config").orElseThrow().hiddenSize());
        assertError(t::hiddenAct, "config.json: text_config.hidden_activation", "an integer 7", "a string");
        assertError(t::vocabSize, "text_config.vocab_size", "missing");
        assertEquals(Optional.empty(), c.subConfig("absent"));
        ModelConfig flat = parse(LLAMA_3_1);
        assertEquals(flat, flat.textConfig());
    }

    @Test
    void integersWrittenAsFloatsAreAcceptedFractionsAreNot() {
        ModelConfig c = parse("{\"hidden_size\": 4096.0, \"num_attention_heads\": 32.5, \"big\": 3000000000, \"huge\": 1e30}");
        assertEquals(4096, c.hiddenSize());
        assertError(c::numAttentionHeads, "num_attention_heads", "32.5", "integer");
        assertEquals(3_000_000_000L, c.getLong("big", 0));
        assertError(() -> c.getInt("big", 0), "big", "3000000000", "32 bits");
        assertError(() -> c.getLong("huge", 0), "huge", "integer");
    }

    @Test
    void wrongTypesNameFieldValueAndExpectation() {
        ModelConfig c = parse("""
                {"hidden_size": "4096", "tie_word_embeddings": "yes", "architectures": "LlamaForCausalLM",
                 "layer_types": ["full_attention", 3], "rope_scaling": {"rope_type": "ntk-by-parts", "factor": 2},
                 "eos_token_id": [1, "2"], "rope_theta": {"__float__": "lots"}, "torch_dtype": "float64",
                 "sliding_window": [4096]}
                """);
        assertError(c::hiddenSize, "config.json: hidden_size", "a string \"4096\"", "expected an integer");
        assertError(c::tieWordEmbeddings, "tie_word_embeddings", "\"yes\"", "true or false");
        assertError(c::architectures, "architectures", "a list");
        assertError(c::layerTypes, "layer_types[1]", "an integer 3", "a string");
        assertError(c::ropeScaling, "rope_scaling.rope_type", "ntk-by-parts", "llama3", "longrope");
        assertError(c::eosTokenIds, "eos_token_id[1]", "\"2\"");
        assertError(c::ropeTheta, "rope_theta", "lots", "__float__");
        assertError(c::dtype, "torch_dtype", "float64", "bfloat16");
        assertError(c::slidingWindow, "sliding_window", "an array");
        assertError(() -> parse("{\"rope_scaling\": {\"factor\": \"2\", \"type\": \"linear\"}}").ropeScaling(),
                "rope_scaling.factor", "a number");
        assertError(() -> parse("{\"rope_scaling\": {\"factor\": 2}}").ropeScaling(), "rope_scaling", "no rope_type");
        assertError(() -> parse("{\"partial_rotary_factor\": 1.5}").partialRotaryFactor(), "partial_rotary_factor", "(0, 1]");
    }

    @Test
    void consistencyChecks() {
        assertError(() -> parse("{\"layer_types\": [\"full_attention\"], \"num_hidden_layers\": 2}").layerTypes(),
                "layer_types has 1 entries", "num_hidden_layers is 2");
        assertError(() -> parse("{\"hidden_size\": 100, \"num_attention_heads\": 3}").headDim(),
                "hidden_size=100", "num_attention_heads=3", "head_dim");
        assertError(() -> parse("{}").normEps(), "rms_norm_eps", "layer_norm_epsilon", "missing");
    }

    @Test
    void notJsonOrNotAnObject() {
        assertError(() -> parse("{\"hidden_size\": "), "not valid JSON");
        assertError(() -> parse("[1]"), "an array", "JSON object");
        assertError(() -> parse(""), "JSON object");
        assertEquals(7, parse("{\"a\": 1, \"a\": 7}").getInt("a", 0), "last duplicate wins, as in Python");
    }

    @Test
    void loadFromDirectory(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), LLAMA_3_1);
        ModelConfig c = ModelConfig.load(dir);
        assertEquals(dir.resolve("config.json").toString(), c.source());
        assertEquals(4096, c.hiddenSize());
        ConfigException e = assertThrows(ConfigException.class, () -> ModelConfig.load(dir.resolve("sub")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": true}");
        ConfigException wrong = assertThrows(ConfigException.class, () -> ModelConfig.load(dir).hiddenSize());
        assertTrue(wrong.getMessage().startsWith(dir.resolve("config.json") + ": hidden_size is a boolean true"),
                wrong.getMessage());
    }
}
