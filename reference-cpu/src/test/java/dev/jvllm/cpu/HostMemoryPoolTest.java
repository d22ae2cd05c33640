package dev.jvllm.cpu;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import org.junit.jupiter.api.Test;

/** The CPU backend's caching allocator: reused memory is zeroed, closed tensors stay dead, the cap holds. */
class HostMemoryPoolTest {

    @Test
    void sizeClassesCoverTheRequestWithAtMostAQuarterUnused() {
        for (long bytes = 1; bytes < 1 << 22; bytes += 1 + bytes / 7) {
            long c = HostMemoryPool.sizeClass(bytes);
            assertTrue(c >= bytes && c >= 64, bytes + " → " + c);
            assertTrue(bytes <= 4096 ? c <= Math.max(64, 2 * bytes) : c < bytes * 1.25 + 1, bytes + " → " + c);
            assertEquals(c, HostMemoryPool.sizeClass(c), "a class serves itself");
        }
    }

    @Test
    void aReusedBlockIsZeroedAndTheOldTensorCannotReadIt() {
        try (CpuBackend b = CpuBackend.create(BackendOptions.defaults().withThreads(1))) {
            Tensor a = Tensors.fromFloats(b, DType.F32, new float[] {1, 2, 3, 4, 5}, 5);
            Tensor view = a.slice(1, 2);
            a.close();
            a.close(); // twice is harmless
            assertThrows(IllegalStateException.class, () -> Tensors.toFloats(a));
            assertThrows(IllegalStateException.class, () -> CpuTensor.of(view).storage());
            Tensor again = b.allocate(DType.F32, 5); // the same size class: the block just freed
            assertArrayEquals(new float[5], Tensors.toFloats(again));
            again.close();
        }
    }

    @Test
    void freeBlocksStayUnderTheCapAndCloseWithThePool() {
        HostMemoryPool pool = new HostMemoryPool(10_000);
        HostMemoryPool.Block small = pool.take(4000), big = pool.take(9000);
        pool.give(small);
        pool.give(big); // 4096 + 9216 > cap: freed at once
        assertEquals(4096, pool.pooledBytes());
        assertFalse(big.arena().scope().isAlive());
        assertSame(small, pool.take(3000));
        pool.give(small);
        pool.close();
        assertFalse(small.arena().scope().isAlive());
        HostMemoryPool.Block late = new HostMemoryPool(1 << 20).take(100);
        HostMemoryPool closed = new HostMemoryPool(1 << 20);
        closed.close();
        closed.give(late); // a block coming back after close is freed
        assertFalse(late.arena().scope().isAlive());
    }
}
