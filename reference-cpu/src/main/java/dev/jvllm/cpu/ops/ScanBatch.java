package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.cpu.Rows;

/**
 * The sequences of a varlen state batch that actually run: padding (slot −1) dropped, metadata
 * checked. Sequence i of this list covers tokens {@code [start[i], start[i] + len[i])}, uses state
 * slot {@code slot[i]} and continues from it when {@code init[i]}.
 *
 * <p>Shared by every stateful kernel so they reject bad metadata with the same messages.
 */
record ScanBatch(int[] start, int[] len, int[] slot, boolean[] init) {

    int size() {
        return slot.length;
    }

    /**
     * Reads a {@link StateBatch} over {@code tokens} tokens and a pool of {@code slots} state slots.
     *
     * @throws IllegalArgumentException for offsets outside [0, tokens] or decreasing, a slot outside
     *     [−1, slots), or one slot used by two sequences (their final states would race)
     */
    static ScanBatch of(String op, StateBatch b, long tokens, int slots) {
        int[] qsl = Rows.ints(b.queryStartLoc());
        int[] idx = Rows.ints(b.stateIndices());
        int[] has = Rows.ints(b.hasInitialState());
        int n = idx.length;
        int active = 0;
        for (int i = 0; i < n; i++) {
            if (idx[i] != -1) {
                active++;
            }
        }
        int[] start = new int[active];
        int[] len = new int[active];
        int[] slot = new int[active];
        boolean[] init = new boolean[active];
        int[] owner = new int[slots];
        java.util.Arrays.fill(owner, -1);
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (idx[i] == -1) {
                continue; // padding: its tokens and every slot stay untouched
            }
            if (qsl[i] < 0 || qsl[i] > qsl[i + 1] || qsl[i + 1] > tokens) {
                throw new IllegalArgumentException(op + ": queryStartLoc[" + i + "]=" + qsl[i] + ", queryStartLoc["
                        + (i + 1) + "]=" + qsl[i + 1] + " is not a token range inside [0, " + tokens
                        + "]; offsets must be non-decreasing");
            }
            checkSlot(op, i, idx[i], slots, owner);
            start[k] = qsl[i];
            len[k] = qsl[i + 1] - qsl[i];
            slot[k] = idx[i];
            init[k] = has[i] != 0;
            k++;
        }
        return new ScanBatch(start, len, slot, init);
    }

    /** The decode form: row b is sequence b's one token, always continuing from its slot. */
    static ScanBatch decode(String op, Tensor stateIndices, int slots) {
        int[] idx = Rows.ints(stateIndices);
        int active = 0;
        for (int v : idx) {
            if (v != -1) {
                active++;
            }
        }
        int[] start = new int[active];
        int[] len = new int[active];
        int[] slot = new int[active];
        boolean[] init = new boolean[active];
        int[] owner = new int[slots];
        java.util.Arrays.fill(owner, -1);
        int k = 0;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] == -1) {
                continue;
            }
            checkSlot(op, i, idx[i], slots, owner);
            start[k] = i;
            len[k] = 1;
            slot[k] = idx[i];
            init[k] = true;
            k++;
        }
        return new ScanBatch(start, len, slot, init);
    }

    private static void checkSlot(String op, int seq, int s, int slots, int[] owner) {
        if (s < 0 || s >= slots) {
            throw new IllegalArgumentException(op + ": stateIndices[" + seq + "]=" + s + " is outside the state pool [0, "
                    + slots + "); use -1 to mark a padded sequence");
        }
        if (owner[s] >= 0) {
            throw new IllegalArgumentException(op + ": state slot " + s + " is used by sequences " + owner[s] + " and "
                    + seq + "; each sequence of a batch needs its own slot");
        }
        owner[s] = seq;
    }
}
