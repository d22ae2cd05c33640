package dev.jvllm.api.ops;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import java.util.List;

/**
 * Where the sequences of a varlen flat batch start and which per-sequence state slot each uses;
 * shared by the stateful ops (conv, scans, short conv, linear attention).
 *
 * <p>Sequence b owns tokens {@code [queryStartLoc[b], queryStartLoc[b+1])} and state slot
 * {@code stateIndices[b]}; slot −1 means "padding, skip this sequence" (its outputs and every state
 * slot stay untouched). {@code hasInitialState[b] != 0} continues from the slot's saved state;
 * {@code 0} starts from zeros (a fresh sequence). All I32: [B+1], [B], [B].
 */
public record StateBatch(Tensor queryStartLoc, Tensor stateIndices, Tensor hasInitialState) {
    public StateBatch {
        String op = "state batch";
        Check.rank(op, "stateIndices", Check.nonNull(op, "stateIndices", stateIndices), 1);
        int b = stateIndices.dim(0);
        Check.shape(op, "queryStartLoc", Check.nonNull(op, "queryStartLoc", queryStartLoc), b + 1);
        Check.shape(op, "hasInitialState", Check.nonNull(op, "hasInitialState", hasInitialState), b);
        Check.dtype(op, "queryStartLoc", queryStartLoc, DType.I32);
        Check.dtype(op, "stateIndices", stateIndices, DType.I32);
        Check.dtype(op, "hasInitialState", hasInitialState, DType.I32);
    }

    /** Number of sequences. */
    public int numSeqs() {
        return stateIndices.dim(0);
    }
}
