package dev.jvllm.models.loader;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

/**
 * Fuzzes config.json parsing and every typed accessor: each either returns or throws
 * {@link ConfigException}; nothing else may escape. Corpus (run by plain {@code mvn test}):
 * {@code src/test/resources/dev/jvllm/models/loader/ModelConfigFuzzTestInputs/configJson/}.
 */
class ModelConfigFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void configJson(byte[] input) {
        ModelConfig c;
        try {
            c = ModelConfig.parse(new String(input, StandardCharsets.UTF_8), "config.json");
        } catch (ConfigException expected) {
            return;
        }
        exercise(c);
        call(() -> c.subConfig("text_config").map(sub -> {
            exercise(sub);
            return sub;
        }));
    }

    private static void exercise(ModelConfig c) {
        List<Supplier<?>> accessors = List.of(
                c::architectures, c::modelType, c::hiddenSize, c::intermediateSize, c::numHiddenLayers,
                c::numAttentionHeads, c::numKeyValueHeads, c::headDim, c::vocabSize,
                c::maxPositionEmbeddings, c::normEps, c::ropeTheta, c::ropeScaling, c::partialRotaryFactor,
                c::tieWordEmbeddings, c::slidingWindow, c::layerTypes, c::hiddenAct, c::attentionBias,
                c::mlpBias, c::torchDtype, c::dtype, c::bosTokenId, c::eosTokenIds, c::padTokenId,
                c::keys, c::textConfig,
                () -> c.ropeScaling("sliding_attention"), () -> c.ropeScaling("full_attention"),
                () -> c.ropeTheta("sliding_attention"),
                () -> c.getInt("sliding_window", 0), () -> c.getDouble("final_logit_softcapping", 0),
                () -> c.getLong("vocab_size", 0), () -> c.getIntList("eos_token_id"),
                () -> c.getDoubleList("short_factor"), () -> c.getStringList("layer_types"),
                () -> c.getBoolean("use_cache", false), () -> c.getString("model_type", ""));
        for (Supplier<?> a : accessors) {
            call(a);
        }
        call(() -> {
            RopeScaling r = c.ropeScaling();
            return List.of(r.factor(), r.lowFreqFactor(), r.highFreqFactor(), r.betaFast(), r.betaSlow(),
                    r.attentionFactor(), r.mscale(), r.mscaleAllDim(), r.shortFactor(), r.longFactor(),
                    r.originalMaxPositionEmbeddings(), r.get("mrope_section"));
        });
        for (String key : c.keys()) {
            call(() -> c.optionalInt(key));
            call(() -> c.optionalDouble(key));
            call(() -> c.optionalString(key));
            call(() -> c.optionalBoolean(key));
            call(() -> c.getIntList(key));
            call(() -> c.subConfig(key));
        }
    }

    private static void call(Supplier<?> s) {
        try {
            s.get();
        } catch (ConfigException expected) {
            if (!expected.getMessage().contains("config.json")) {
                throw new AssertionError("message does not name config.json: " + expected.getMessage(), expected);
            }
        }
    }
}
