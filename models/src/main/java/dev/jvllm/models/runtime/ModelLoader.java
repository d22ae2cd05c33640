package dev.jvllm.models.runtime;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.ModelRegistry;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.loader.Checkpoint;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.quant.QuantizationConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** A checkpoint directory → a loaded model on one backend (one tensor-parallel rank). */
public final class ModelLoader {
    private ModelLoader() {
    }

    /**
     * Loads {@code dir} (config.json + safetensors, and the quantization config when the
     * checkpoint is quantized). The checkpoint stays mapped for the model's life: on the CPU its
     * weights are used in place.
     *
     * @param activationDType F32 or BF16
     * @param weightDType     null keeps each checkpoint tensor's dtype
     */
    public static CausalLM load(Path dir, Backend backend, ParallelConfig parallel, DType activationDType,
            DType weightDType) {
        try {
            ModelConfig config = ModelConfig.load(dir);
            var factory = ModelRegistry.withProviders().resolve(config.architectures(), config.source());
            Checkpoint ckpt = Checkpoint.open(dir);
            QuantizationConfig quantization;
            try {
                quantization = QuantizationConfig.load(dir, config, ckpt);
            } catch (IOException | RuntimeException e) {
                ckpt.close();
                throw e;
            }
            ModelContext ctx = new ModelContext(config, parallel, backend, activationDType, weightDType, quantization);
            ctx.onClose(ckpt);
            CausalLM model;
            try {
                model = factory.apply(ctx);
                model.loadWeights(ckpt);
            } catch (RuntimeException e) {
                ctx.close();
                throw e;
            }
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load model from " + dir + ": " + e.getMessage(), e);
        }
    }
}
