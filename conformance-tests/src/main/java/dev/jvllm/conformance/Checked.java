package dev.jvllm.conformance;

import dev.jvllm.api.Tensor;

/**
 * One output to compare: its name, the tensor (a view inside a guarded buffer when the
 * {@link CaseBuilder} made it), the tolerance, and the first-dimension slots that the op must
 * leave bit-identical (state slots not in the batch, cache blocks not written).
 */
public record Checked(String name, Tensor tensor, Tolerance tolerance, int[] untouchedSlots) {
    public Checked {
        untouchedSlots = untouchedSlots == null ? new int[0] : untouchedSlots.clone();
    }

    @Override
    public int[] untouchedSlots() {
        return untouchedSlots.clone();
    }
}
