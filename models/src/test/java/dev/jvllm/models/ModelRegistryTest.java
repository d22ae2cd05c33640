package dev.jvllm.models;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.models.arch.LlamaForCausalLM;
import dev.jvllm.models.layers.Attention;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.layers.RotaryEmbedding;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.loader.RopeScaling;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ModelRegistryTest {

    /** An out-of-tree architecture, found through META-INF/services in the test resources. */
    public static final class TinyProvider implements ModelProvider {
        @Override
        public Map<String, Function<ModelContext, CausalLM>> architectures() {
            return Map.of("MyLlamaForCausalLM", LlamaForCausalLM::new);
        }
    }

    @Test
    void builtInNamesAndOutOfTreeProvidersResolve() {
        ModelRegistry r = ModelRegistry.withProviders();
        assertTrue(r.supported().containsAll(List.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
                "Qwen3ForCausalLM", "Phi3ForCausalLM", "Gemma2ForCausalLM", "OPTForCausalLM", "GPT2LMHeadModel",
                "MyLlamaForCausalLM")), r.supported().toString());
        assertNotNull(r.resolve(List.of("Unknown", "MyLlamaForCausalLM"), "config.json"), "first supported name wins");
    }

    @Test
    void unknownArchitectureListsTheSupportedOnes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ModelRegistry.withProviders().resolve(List.of("FooForCausalLM"), "/x/config.json"));
        assertTrue(e.getMessage().contains("FooForCausalLM") && e.getMessage().contains("/x/config.json")
                && e.getMessage().contains("Qwen3ForCausalLM"), e.getMessage());
    }

    @Test
    void layersShareOneRotaryEmbeddingPerParameterSet() {
        try (CpuBackend cpu = CpuBackend.create()) {
            ModelContext ctx = new ModelContext(ModelConfig.parse("{}", "config.json"), ParallelConfig.single(), cpu,
                    DType.F32, null);
            RotaryEmbedding a = RotaryEmbedding.shared(ctx, 64, 64, 4096, 10000.0, RopeScaling.NONE, true);
            assertSame(a, RotaryEmbedding.shared(ctx, 64, 64, 4096, 10000.0, RopeScaling.NONE, true));
            assertNotSame(a, RotaryEmbedding.shared(ctx, 64, 32, 4096, 10000.0, RopeScaling.NONE, true), "rotary dim");
            assertNotSame(a, RotaryEmbedding.shared(ctx, 64, 64, 4096, 500000.0, RopeScaling.NONE, true), "theta");
            assertNotSame(a, RotaryEmbedding.shared(ctx, 64, 64, 4096, 10000.0, RopeScaling.NONE, false), "neox");
            assertEquals(4096, a.maxPositions());
            ctx.close();
        }
    }

    @Test
    void duplicateAttentionPrefixIsRejected() {
        try (CpuBackend cpu = CpuBackend.create()) {
            ModelContext ctx = new ModelContext(ModelConfig.parse("{}", "config.json"), ParallelConfig.single(), cpu,
                    DType.F32, null);
            new Attention(ctx, "model.layers.0.self_attn.attn", 4, 16, 0.25f, 2, 0, 0f);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> new Attention(ctx, "model.layers.0.self_attn.attn", 4, 16, 0.25f, 2, 0, 0f));
            assertTrue(e.getMessage().contains("model.layers.0.self_attn.attn"), e.getMessage());
        }
    }
}
