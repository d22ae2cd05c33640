package dev.jvllm.models.runtime;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.ModelRegistry;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.loader.Checkpoint;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.quant.QuantizationConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
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
        return load(dir, backend, parallel, activationDType, weightDType, LoadFormat.AUTO);
    }

    /** How weights are obtained (vLLM's {@code --load-format}). */
    public enum LoadFormat {
        /** The safetensors files of the directory. */
        AUTO,
        /**
         * Random weights from config.json alone ({@link RandomCheckpoint}, seed
         * {@link RandomCheckpoint#DEFAULT_SEED}, in the config's dtype): for benchmarks without a download.
         */
        DUMMY
    }

    /** {@link #load(Path, Backend, ParallelConfig, DType, DType)} with weights obtained as {@code format} says. */
    public static CausalLM load(Path dir, Backend backend, ParallelConfig parallel, DType activationDType,
            DType weightDType, LoadFormat format) {
        try {
            ModelConfig config = ModelConfig.load(dir);
            var factory = ModelRegistry.withProviders().resolve(config.architectures(), config.source());
            boolean dummy = format == LoadFormat.DUMMY;
            if (dummy && QuantizationConfig.of(config).isQuantized()) {
                throw new IllegalArgumentException(config.source() + ": --load-format dummy writes dense random weights; "
                        + "it cannot stand in for a quantized checkpoint (remove quantization_config or load the files)");
            }
            Checkpoint ckpt = dummy ? null : Checkpoint.open(dir);
            QuantizationConfig quantization;
            try {
                quantization = dummy ? QuantizationConfig.none() : QuantizationConfig.load(dir, config, ckpt);
            } catch (IOException | RuntimeException e) {
                if (ckpt != null) {
                    ckpt.close();
                }
                throw e;
            }
            ModelContext ctx = new ModelContext(config, parallel, backend, activationDType, weightDType, quantization);
            if (ckpt != null) {
                ctx.onClose(ckpt);
            }
            CausalLM model;
            try {
                model = factory.apply(ctx);
                Iterable<CheckpointTensor> weights;
                if (dummy) {
                    Arena arena = Arena.ofShared(); // the CPU backend uses the weights in place, as it does a mapping
                    ctx.onClose(arena::close);
                    weights = RandomCheckpoint.tensors(config, RandomCheckpoint.dtypeOf(config),
                            RandomCheckpoint.DEFAULT_SEED, arena);
                } else {
                    weights = ckpt;
                }
                model.loadWeights(weights);
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
