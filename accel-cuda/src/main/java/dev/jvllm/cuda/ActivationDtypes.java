package dev.jvllm.cuda;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;

/**
 * The dtype rules of the conv, selective-scan and gated-norm kernels ({@link ConvKernels},
 * {@link MambaKernels}, {@link GatedNormKernels}): which tensors they convert, and which compile-time
 * instantiation of a kernel's hot loads a launch uses (common.cuh {@code ldt}).
 */
final class ActivationDtypes {
    private ActivationDtypes() {
    }

    /** Whether every non-null tensor is F32, BF16 or F16 (the activation dtypes these kernels convert). */
    static boolean supported(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F16) {
                return false;
            }
        }
        return true;
    }

    /**
     * The dtype code (ordinal) of the non-null tensors when they all agree, else −1 (DT_ANY): kernels
     * have an instantiation with compile-time loads for each activation dtype and a generic one for mixes.
     */
    static int common(Tensor... ts) {
        DType common = null;
        for (Tensor t : ts) {
            if (t != null) {
                if (common != null && t.dtype() != common) {
                    return -1;
                }
                common = t.dtype();
            }
        }
        return common == null ? -1 : common.ordinal();
    }
}
