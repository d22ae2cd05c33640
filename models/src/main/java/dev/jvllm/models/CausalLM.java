package dev.jvllm.models;

import dev.jvllm.api.Tensor;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.ModelContext;
import dev.jvllm.models.loader.CheckpointTensor;
import java.util.Set;

/**
 * A causal language model over flat token batches (vLLM's model interface): token ids and
 * explicit positions in, hidden states out, logits for chosen rows.
 */
public interface CausalLM extends AutoCloseable {

    /** The context the model was built with (config, backend, tensor-parallel rank, attention layers). */
    ModelContext context();

    /**
     * Runs the decoder over a flat batch.
     *
     * @param ids I32 [T]
     * @return the final hidden states [T, hidden], owned by the caller (close it)
     */
    Tensor forward(Tensor ids, ForwardContext fc);

    /**
     * Logits of some hidden rows (e.g. the last token of each sequence).
     *
     * @param hidden [n, hidden]
     * @return F32 [n, vocab_size], owned by the caller
     */
    Tensor computeLogits(Tensor hidden);

    /**
     * Loads every checkpoint tensor by name (strict: unknown and missing names fail with the list).
     *
     * @return the names of the parameters loaded
     */
    Set<String> loadWeights(Iterable<CheckpointTensor> weights);

    /** Frees the model's weights and buffers on the backend. */
    @Override
    default void close() {
        context().close();
    }
}
