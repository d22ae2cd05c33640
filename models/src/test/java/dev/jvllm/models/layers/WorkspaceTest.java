package dev.jvllm.models.layers;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.cpu.CpuTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A step's temporaries are freed when it ends; what was allocated before lives until the pass ends. */
class WorkspaceTest {
    static final CpuBackend CPU = CpuBackend.create();

    @AfterAll
    static void close() {
        CPU.close();
    }

    static boolean alive(Tensor t) {
        try {
            CpuTensor.of(t).storage();
            return true;
        } catch (IllegalStateException closed) {
            return false;
        }
    }

    @Test
    void freeingClosesOnlyTheStepsTensors() {
        Tensor[] inner = new Tensor[2];
        Tensor outer;
        try (Workspace ws = new Workspace(CPU)) {
            outer = ws.allocate(DType.F32, 4, 8);
            ws.freeing(() -> {
                inner[0] = ws.allocate(DType.F32, 4, 32);
                ws.freeing(() -> inner[1] = ws.allocate(DType.F32, 2));
                assertFalse(alive(inner[1]), "the nested step's tensor is freed when that step ends");
                assertTrue(alive(inner[0]));
            });
            assertFalse(alive(inner[0]));
            assertTrue(alive(outer), "tensors allocated before the step stay");
            Tensor after = ws.allocate(DType.F32, 4, 8);
            assertTrue(alive(after));
        }
        assertFalse(alive(outer));
    }

    @Test
    void aFailingStepStillFreesItsTensors() {
        Tensor[] inner = new Tensor[1];
        try (Workspace ws = new Workspace(CPU)) {
            Tensor outer = ws.allocate(DType.F32, 3);
            RuntimeException e = assertThrows(IllegalStateException.class, () -> ws.freeing(() -> {
                inner[0] = ws.allocate(DType.F32, 5);
                throw new IllegalStateException("layer failed");
            }));
            assertEquals("layer failed", e.getMessage());
            assertFalse(alive(inner[0]));
            assertTrue(alive(outer));
        }
    }

    @Test
    void uninitializedTensorsAreFreedWithTheStepAndAreZerosOnTheCpu() {
        Tensor[] inner = new Tensor[1];
        try (Workspace ws = new Workspace(CPU)) {
            ws.freeing(() -> {
                inner[0] = ws.allocateUninitialized(DType.BF16, 3, 5);
                assertArrayEquals(new int[] {3, 5}, inner[0].shape());
                assertEquals(DType.BF16, inner[0].dtype());
                // the CPU backend keeps the default: zero-filled like allocate (its results stay exact)
                assertArrayEquals(new float[15], dev.jvllm.api.Tensors.toFloats(inner[0]));
            });
            assertFalse(alive(inner[0]));
        }
    }
}
