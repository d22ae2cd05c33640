package dev.jvllm.api;

/**
 * Collectives of a tensor-parallel group: one communicator per rank, each used by that rank's
 * thread. Every rank must call the same collectives in the same order with tensors of the same
 * shape (for {@link #allGather}, the same input shape). Sums accumulate in f32 in rank order
 * (rank 0 + rank 1 + ...), so results are deterministic and identical on every rank.
 */
public interface Communicator {

    /** This rank, in [0, size). */
    int rank();

    /** Number of ranks. */
    int size();

    /** In place: {@code t = Σ_ranks t}, rounded once to t's dtype. */
    void allReduceSum(Tensor t);

    /**
     * Concatenates every rank's {@code in} [R, C] along the last dimension into {@code out}
     * [R, size·C], rank order (vLLM's {@code tensor_model_parallel_all_gather(dim=-1)}).
     */
    void allGather(Tensor in, Tensor out);

    /** In place: every rank's {@code t} = root's {@code t}. */
    void broadcast(Tensor t, int root);

    /** The communicator of a group of one: every collective is the identity. */
    static Communicator single() {
        return Single.INSTANCE;
    }

    /** The trivial group of one rank. */
    final class Single implements Communicator {
        static final Single INSTANCE = new Single();

        private Single() {
        }

        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int size() {
            return 1;
        }

        @Override
        public void allReduceSum(Tensor t) {
        }

        @Override
        public void allGather(Tensor in, Tensor out) {
            in.backend().copy(new dev.jvllm.api.ops.Copy(in, out));
        }

        @Override
        public void broadcast(Tensor t, int root) {
            if (root != 0) {
                throw new IllegalArgumentException("root " + root + " outside a group of one");
            }
        }
    }
}
