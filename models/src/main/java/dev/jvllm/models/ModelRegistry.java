package dev.jvllm.models;

import dev.jvllm.models.arch.BambaForCausalLM;
import dev.jvllm.models.arch.GPT2LMHeadModel;
import dev.jvllm.models.arch.Gemma2ForCausalLM;
import dev.jvllm.models.arch.JambaForCausalLM;
import dev.jvllm.models.arch.Lfm2ForCausalLM;
import dev.jvllm.models.arch.LlamaForCausalLM;
import dev.jvllm.models.arch.Mamba2ForCausalLM;
import dev.jvllm.models.arch.MambaForCausalLM;
import dev.jvllm.models.arch.MiniMaxText01ForCausalLM;
import dev.jvllm.models.arch.MixtralForCausalLM;
import dev.jvllm.models.arch.OPTForCausalLM;
import dev.jvllm.models.arch.MistralForCausalLM;
import dev.jvllm.models.arch.Phi3ForCausalLM;
import dev.jvllm.models.arch.Qwen2ForCausalLM;
import dev.jvllm.models.arch.Qwen3ForCausalLM;
import dev.jvllm.models.layers.ModelContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Architecture names (config.json's {@code architectures}) → model classes. Several names may map
 * to one class; out-of-tree models join through {@link ModelProvider}.
 */
public final class ModelRegistry {
    private final Map<String, Function<ModelContext, CausalLM>> factories;

    private ModelRegistry(Map<String, Function<ModelContext, CausalLM>> factories) {
        this.factories = factories;
    }

    /** The built-in architectures plus every {@link ModelProvider} on the class path. */
    public static ModelRegistry withProviders() {
        Map<String, Function<ModelContext, CausalLM>> m = builtIn();
        for (ModelProvider p : ServiceLoader.load(ModelProvider.class)) {
            m.putAll(p.architectures());
        }
        return new ModelRegistry(m);
    }

    static Map<String, Function<ModelContext, CausalLM>> builtIn() {
        Map<String, Function<ModelContext, CausalLM>> m = new LinkedHashMap<>();
        m.put("LlamaForCausalLM", LlamaForCausalLM::new);
        m.put("MistralForCausalLM", MistralForCausalLM::new);
        m.put("Qwen2ForCausalLM", Qwen2ForCausalLM::new);
        m.put("Qwen3ForCausalLM", Qwen3ForCausalLM::new);
        m.put("Phi3ForCausalLM", Phi3ForCausalLM::new);
        m.put("Gemma2ForCausalLM", Gemma2ForCausalLM::new);
        m.put("OPTForCausalLM", OPTForCausalLM::new);
        m.put("GPT2LMHeadModel", GPT2LMHeadModel::new);
        m.put("MambaForCausalLM", MambaForCausalLM::new);
        m.put("MixtralForCausalLM", MixtralForCausalLM::new);
        m.put("Mamba2ForCausalLM", Mamba2ForCausalLM::new);
        m.put("Lfm2ForCausalLM", Lfm2ForCausalLM::new);
        m.put("BambaForCausalLM", BambaForCausalLM::new);
        m.put("JambaForCausalLM", JambaForCausalLM::new);
        m.put("MiniMaxText01ForCausalLM", MiniMaxText01ForCausalLM::new);
        m.put("MiniMaxForCausalLM", MiniMaxText01ForCausalLM::new); // transformers' name
        return m;
    }

    /** Supported architecture names, sorted. */
    public List<String> supported() {
        return List.copyOf(new TreeSet<>(factories.keySet()));
    }

    /**
     * The factory for the first supported name in {@code architectures}.
     *
     * @throws IllegalArgumentException listing the supported architectures
     */
    public Function<ModelContext, CausalLM> resolve(List<String> architectures, String source) {
        for (String a : architectures) {
            Function<ModelContext, CausalLM> f = factories.get(a);
            if (f != null) {
                return f;
            }
        }
        throw new IllegalArgumentException("model architectures " + architectures + " in " + source
                + " are not supported; supported: " + supported()
                + " (out-of-tree models register through META-INF/services/dev.jvllm.models.ModelProvider)");
    }
}
