package dev.jvllm.engine.core;

import dev.jvllm.api.DType;
import dev.jvllm.models.runtime.ModelLoader;
import java.util.List;

/**
 * How to load a model and run the engine (vLLM's engine arguments). Zero means "the default"
 * for the sizes; {@link #defaults()} gives every default, and the {@code withX} methods change one
 * value.
 *
 * @param backend             backend name (cpu, cuda, ...); null: {@code -Djvllm.backend}, else the best available
 * @param dtype               auto (weights as stored; activations f32 on the CPU, bf16 on a GPU), f32 or bf16
 * @param threads             CPU threads per rank; 0: all cores, split over the ranks
 * @param tensorParallelSize  ranks the model is sharded over
 * @param kvCacheMemoryBytes  memory per rank for the KV cache and the per-sequence state of stateful
 *                            layers; 0: enough for max_num_seqs sequences of max_model_len tokens,
 *                            at most 4 GiB (vLLM's CPU default) and a quarter of the machine's memory
 * @param kvCacheMemoryFraction used when kvCacheMemoryBytes is 0: that share of the device's memory
 *                            ({@code Backend.memoryCapacity()}; physical memory on the CPU); 0: the default
 * @param maxModelLen         longest sequence (prompt + output); 0: the config's max_position_embeddings
 * @param maxNumSeqs          most sequences in one step's batch
 * @param maxNumBatchedTokens most tokens in one step's batch (the chunked-prefill budget)
 * @param blockSize           tokens per KV-cache block
 * @param enablePrefixCaching null: on, except for models with stateful layers (as vLLM: their state
 *                            cannot be rebuilt from cached KV blocks)
 * @param enableChunkedPrefill whether a long prompt is computed over several steps
 * @param seed                seeds the per-request seeds of requests that set none
 * @param maxLogprobs         most logprobs a request may ask per token (−1: the whole vocabulary)
 * @param loadFormat          where weights come from: the checkpoint files, or random weights
 *                            (vLLM's {@code --load-format dummy})
 * @param enforceEager        run decode steps op by op instead of replaying them from captured op
 *                            graphs (vLLM's {@code --enforce-eager}); graphs are used only where the
 *                            backend captures them (CUDA) and the model runs on one rank
 * @param asyncScheduling     launch the next decode step before the current one's tokens are read
 *                            back (vLLM's {@code --async-scheduling}), when every sequence of a
 *                            decode step keeps running and samples on the device (see
 *                            {@link EngineCore}); outputs then come one {@code step()} later
 */
public record EngineOptions(String backend, String dtype, int threads, int tensorParallelSize,
        long kvCacheMemoryBytes, double kvCacheMemoryFraction, int maxModelLen, int maxNumSeqs,
        int maxNumBatchedTokens, int blockSize,
        Boolean enablePrefixCaching, boolean enableChunkedPrefill, long seed, int maxLogprobs,
        ModelLoader.LoadFormat loadFormat, boolean enforceEager, boolean asyncScheduling) {

    public EngineOptions {
        java.util.Objects.requireNonNull(loadFormat, "loadFormat");
        if (!List.of("auto", "f32", "bf16").contains(dtype)) {
            throw new IllegalArgumentException("dtype must be auto, f32 or bf16, got " + dtype);
        }
        positiveOrZero("threads", threads);
        positiveOrZero("kvCacheMemoryBytes", kvCacheMemoryBytes);
        if (!(kvCacheMemoryFraction >= 0 && kvCacheMemoryFraction <= 1)) {
            throw new IllegalArgumentException("kvCacheMemoryFraction must be in [0, 1] (0 = default), got "
                    + kvCacheMemoryFraction);
        }
        positiveOrZero("maxModelLen", maxModelLen);
        if (tensorParallelSize < 1) {
            throw new IllegalArgumentException("tensorParallelSize must be >= 1, got " + tensorParallelSize);
        }
        if (maxNumSeqs < 1) {
            throw new IllegalArgumentException("maxNumSeqs must be >= 1, got " + maxNumSeqs);
        }
        if (maxNumBatchedTokens < 1) {
            throw new IllegalArgumentException("maxNumBatchedTokens must be >= 1, got " + maxNumBatchedTokens);
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
        }
        if (maxLogprobs < -1) {
            throw new IllegalArgumentException("maxLogprobs must be >= 0 or -1 (the whole vocabulary), got "
                    + maxLogprobs);
        }
    }

    private static void positiveOrZero(String name, long v) {
        if (v < 0) {
            throw new IllegalArgumentException(name + " must be >= 0 (0 = default), got " + v);
        }
    }

    /** vLLM's defaults: 256 sequences, 2048 batched tokens, blocks of 16, chunked prefill on. */
    public static EngineOptions defaults() {
        return new EngineOptions(null, "auto", 0, 1, 0, 0, 0, 256, 2048, 16, null, true, 0, 20,
                ModelLoader.LoadFormat.AUTO, false, false);
    }

    public EngineOptions withBackend(String v) {
        return new EngineOptions(v, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen, maxNumSeqs,
                maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed, maxLogprobs,
                loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withDtype(String v) {
        return new EngineOptions(backend, v, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen, maxNumSeqs,
                maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed, maxLogprobs,
                loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withThreads(int v) {
        return new EngineOptions(backend, dtype, v, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen, maxNumSeqs,
                maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed, maxLogprobs,
                loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withTensorParallelSize(int v) {
        return new EngineOptions(backend, dtype, threads, v, kvCacheMemoryBytes, kvCacheMemoryFraction,
                maxModelLen, maxNumSeqs,
                maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed, maxLogprobs,
                loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withKvCacheMemoryBytes(long v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, v, kvCacheMemoryFraction,
                maxModelLen, maxNumSeqs,
                maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed, maxLogprobs,
                loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withKvCacheMemoryFraction(double v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes, v, maxModelLen,
                maxNumSeqs, maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed,
                maxLogprobs,
                loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withMaxModelLen(int v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, v, maxNumSeqs,
                maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed, maxLogprobs,
                loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withMaxNumSeqs(int v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen, v,
                maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed, maxLogprobs,
                loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withMaxNumBatchedTokens(int v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen,
                maxNumSeqs, v, blockSize, enablePrefixCaching, enableChunkedPrefill, seed, maxLogprobs, loadFormat,
                enforceEager, asyncScheduling);
    }

    public EngineOptions withBlockSize(int v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen,
                maxNumSeqs, maxNumBatchedTokens, v, enablePrefixCaching, enableChunkedPrefill, seed,
                maxLogprobs, loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withPrefixCaching(Boolean v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen,
                maxNumSeqs, maxNumBatchedTokens, blockSize, v, enableChunkedPrefill, seed, maxLogprobs, loadFormat,
                enforceEager, asyncScheduling);
    }

    public EngineOptions withChunkedPrefill(boolean v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen,
                maxNumSeqs, maxNumBatchedTokens, blockSize, enablePrefixCaching, v, seed, maxLogprobs, loadFormat,
                enforceEager, asyncScheduling);
    }

    public EngineOptions withSeed(long v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen,
                maxNumSeqs, maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, v,
                maxLogprobs, loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withLoadFormat(ModelLoader.LoadFormat v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen,
                maxNumSeqs, maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed,
                maxLogprobs, v, enforceEager, asyncScheduling);
    }

    public EngineOptions withMaxLogprobs(int v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen,
                maxNumSeqs, maxNumBatchedTokens, blockSize, enablePrefixCaching, enableChunkedPrefill, seed,
                v, loadFormat, enforceEager, asyncScheduling);
    }

    public EngineOptions withEnforceEager(boolean v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen, maxNumSeqs, maxNumBatchedTokens, blockSize, enablePrefixCaching,
                enableChunkedPrefill, seed, maxLogprobs, loadFormat, v, asyncScheduling);
    }

    public EngineOptions withAsyncScheduling(boolean v) {
        return new EngineOptions(backend, dtype, threads, tensorParallelSize, kvCacheMemoryBytes,
                kvCacheMemoryFraction, maxModelLen, maxNumSeqs, maxNumBatchedTokens, blockSize, enablePrefixCaching,
                enableChunkedPrefill, seed, maxLogprobs, loadFormat, enforceEager, v);
    }

    /**
     * Activations on the named backend: as asked; for auto, f32 on the CPU (its reference numerics)
     * and bf16 on accelerators (vLLM's GPU default for bf16/f32 checkpoints).
     */
    public DType activationDType(String backendName) {
        return switch (dtype) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> "cpu".equals(backendName) ? DType.F32 : DType.BF16;
        };
    }

    /** Weights: as stored for auto (null), else converted. */
    public DType weightDType() {
        return switch (dtype) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> null;
        };
    }
}
