package dev.jvllm.conformance;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** Canary elements (left untouched by the reference) must neither hide errors nor be written. */
class ComparisonTest {
    static final float CANARY = Float.intBitsToFloat(0x7F7F7F7F);

    @Test
    void canaryRowsDoNotHideAOnePercentErrorElsewhere() {
        try (CpuBackend cpu = CpuBackend.create()) {
            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                float canary = dt == DType.F32 ? CANARY : Tensors.toFloats(Tensors.fromFloats(cpu, dt, new float[] {CANARY}, 1))[0];
                float[] ref = {1, 2, 3, 4, canary, canary, canary, canary};
                float[] cand = {1.01f, 2.02f, 3.03f, 4.04f, canary, canary, canary, canary};
                Tensor r = Tensors.fromFloats(cpu, dt, ref, 2, 4), c = Tensors.fromFloats(cpu, dt, cand, 2, 4);
                String m = Comparison.compare("out", r, c, Tolerance.nmse(1e-6));
                assertNotNull(m, dt + ": a 1% error next to canary rows must fail NMSE 1e-6");
                assertTrue(m.contains("NMSE"), m);
                assertNull(Comparison.compare("out", r, r, Tolerance.nmse(1e-6)));

                float[] wrote = ref.clone();
                wrote[5] = 0.5f;
                String w = Comparison.compare("out", r, Tensors.fromFloats(cpu, dt, wrote, 2, 4), Tolerance.close(1e9, 1));
                assertNotNull(w);
                assertTrue(w.contains("untouched"), w);
            }
        }
    }
}
