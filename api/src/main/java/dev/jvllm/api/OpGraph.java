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

    /**
     * One replay of a graph captured with a staged input and output ({@link Backend#capture(Runnable,
     * Tensor, Tensor)}): writes {@code bytes} into the staged input's rows from {@code firstRow} on
     * (the rows before keep their values, e.g. what an op enqueued earlier wrote there), replays, and
     * starts the read of the staged output as the replay leaves it: {@link Backend#write} + {@link
     * #replay()} + {@link Backend#readLater}, which a backend may do in the one launch. Returns that
     * read (the caller awaits or closes it), or null when the capture declared no output.
     *
     * @param bytes    at least the input's rows from {@code firstRow} on, contiguous little-endian
     * @param firstRow 0 to the input's rows (then nothing is written)
     * @throws UnsupportedOperationException when the graph was captured without staging
     */
    default PendingRead replay(java.lang.foreign.MemorySegment bytes, int firstRow) {
        throw new UnsupportedOperationException("this graph was captured without a staged input; use"
                + " Backend.capture(body, input, output)");
    }

    @Override
    void close();
}
