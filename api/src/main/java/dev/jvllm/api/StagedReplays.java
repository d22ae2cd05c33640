package dev.jvllm.api;

import java.lang.foreign.MemorySegment;

/**
 * The portable form of a graph with a staged input and output ({@link Backend#capture(Runnable,
 * Tensor, Tensor)}): each staged replay is a write, a replay and a started read, three calls on the
 * backend.
 */
final class StagedReplays implements OpGraph {
    private final Backend backend;
    private final OpGraph graph;
    private final Tensor input;
    private final Tensor output;

    StagedReplays(Backend backend, OpGraph graph, Tensor input, Tensor output) {
        this.backend = backend;
        this.graph = graph;
        this.input = input;
        this.output = output;
    }

    /** The checks every backend makes on a staged capture's tensors. */
    static void checkStaged(Backend backend, Tensor input, Tensor output) {
        check(backend, "input", input);
        if (output != null) {
            check(backend, "output", output);
        }
    }

    private static void check(Backend backend, String role, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException("capture: the staged " + role + " is null");
        }
        if (t.backend() != backend || !t.isContiguous() || t.numel() == 0) {
            throw new IllegalArgumentException("capture: the staged " + role + " " + t.describe()
                    + " must be a contiguous, non-empty tensor of backend " + backend.name());
        }
    }

    /** The input's rows from {@code firstRow} on, after checking that {@code bytes} holds them. */
    static Tensor stagedRows(Tensor input, MemorySegment bytes, int firstRow) {
        int rows = input.dim(0);
        if (firstRow < 0 || firstRow > rows) {
            throw new IllegalArgumentException("replay: first row " + firstRow + " outside the staged input "
                    + input.describe());
        }
        Tensor part = input.slice(firstRow, rows - firstRow);
        long need = part.numel() * part.dtype().byteSize();
        if (bytes.byteSize() < need) {
            throw new IllegalArgumentException("replay: " + bytes.byteSize() + " bytes for rows " + firstRow + ".."
                    + rows + " of the staged input " + input.describe() + ", which need " + need);
        }
        return part;
    }

    @Override
    public void replay() {
        graph.replay();
    }

    @Override
    public PendingRead replay(MemorySegment bytes, int firstRow) {
        Tensor part = stagedRows(input, bytes, firstRow);
        if (part.numel() > 0) {
            backend.write(part, bytes);
        }
        graph.replay();
        return output == null ? null : backend.readLater(output);
    }

    @Override
    public void close() {
        graph.close();
    }
}
