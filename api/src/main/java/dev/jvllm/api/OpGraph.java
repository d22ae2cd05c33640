package dev.jvllm.api;

/**
 * A body of op calls recorded once by {@link Backend#capture} and replayed as a whole: a replay runs
 * the same ops on the same tensors (the same device addresses) without the host enqueuing each one
 * (CUDA graphs). The values the ops read are those in the tensors when the replay runs, so a caller
 * changes a replay's inputs by writing into the tensors the body read.
 *
 * <p>Closing the graph releases it and, once the body's still-open tensors are closed too, the
 * workspace it held.
 */
public interface OpGraph extends AutoCloseable {

    /** Enqueues one run of the recorded ops, after the work submitted before it (asynchronous, like an op). */
    void replay();

    @Override
    void close();
}
