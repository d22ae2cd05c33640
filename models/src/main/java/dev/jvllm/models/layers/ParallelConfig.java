package dev.jvllm.models.layers;

import dev.jvllm.api.Communicator;

/**
 * Tensor-parallel placement of one rank.
 *
 * @param tpSize number of ranks the model is sharded over
 * @param tpRank this rank, in [0, tpSize)
 * @param comm   the rank's communicator (all-reduce after row-parallel layers, all-gather of logits)
 */
public record ParallelConfig(int tpSize, int tpRank, Communicator comm) {
    public ParallelConfig {
        if (tpSize < 1 || tpRank < 0 || tpRank >= tpSize) {
            throw new IllegalArgumentException("need 0 <= tpRank < tpSize, got rank " + tpRank + " of " + tpSize);
        }
        if (comm == null || comm.size() != tpSize || comm.rank() != tpRank) {
            throw new IllegalArgumentException("communicator " + (comm == null ? "null" : "rank " + comm.rank()
                    + " of " + comm.size()) + " does not match rank " + tpRank + " of " + tpSize);
        }
    }

    /** One rank, no communication. */
    public static ParallelConfig single() {
        return new ParallelConfig(1, 0, Communicator.single());
    }

    /**
     * Splits {@code total} evenly over the ranks.
     *
     * @throws IllegalArgumentException naming {@code what} when it does not divide
     */
    public int divide(int total, String what) {
        if (total % tpSize != 0) {
            throw new IllegalArgumentException(what + "=" + total + " is not divisible by tensor_parallel_size="
                    + tpSize + "; choose a tensor-parallel size that divides it");
        }
        return total / tpSize;
    }
}
