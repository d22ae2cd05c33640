package dev.jvllm.cpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Tensors above the mmap threshold: zero-filled, writable, readable, and unmapped on close. */
class LargeAllocationTest {
    @Test
    void largeTensorsAreZeroedUsableAndFreed() {
        try (Backend b = CpuBackend.create()) {
            int rows = 1024, cols = 1024; // 4 MiB of f32, above the threshold
            assertTrue((long) rows * cols * 4 >= AnonymousMemory.THRESHOLD);
            for (int round = 0; round < 3; round++) { // reused address ranges must come back zeroed
                try (Tensor t = b.allocate(DType.F32, rows, cols)) {
                    MemorySegment seg = CpuTensor.of(t).storage();
                    assertEquals(0, seg.address() % 4096, "page aligned");
                    for (long i = 0; i < seg.byteSize(); i += 4096) {
                        assertEquals(0, seg.get(ValueLayout.JAVA_BYTE, i), "byte " + i);
                    }
                    float[] row = new float[cols];
                    java.util.Arrays.fill(row, 3.5f);
                    try (Tensor r = Tensors.fromFloats(b, DType.F32, row, 1, cols)) {
                        b.copy(new dev.jvllm.api.ops.Copy(r, t.slice(rows - 1, 1)));
                    }
                    float[] back = Tensors.toFloats(t);
                    assertEquals(3.5f, back[rows * cols - 1]);
                    assertEquals(0f, back[0]);
                }
            }
        }
    }

    @Test
    void segmentsDieWithTheirArena() {
        Arena arena = Arena.ofShared();
        MemorySegment s = AnonymousMemory.allocate(AnonymousMemory.THRESHOLD, arena);
        if (s == null) {
            return; // not Linux: the backend falls back to arena allocation
        }
        s.set(ValueLayout.JAVA_LONG, 0, 42L);
        assertEquals(42L, s.get(ValueLayout.JAVA_LONG, 0));
        arena.close();
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_LONG, 0));
    }
}
