package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.DeviceMemory;
import dev.jvllm.api.PendingRead;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Cast;
import dev.jvllm.api.ops.Copy;
import dev.jvllm.api.ops.Fill;
import dev.jvllm.api.ops.GatherRows;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.Rotary;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend's own plumbing on a real device (skipped without one): transfers through
 * strided views and staging chunk boundaries, zero-filled allocation, the caching allocator's
 * reuse and accounting, device-reported bad input, use after close, and thread hand-over.
 */
class CudaBackendTest extends CudaDeviceTest {
    @BeforeAll
    void describe() {
        System.out.println("[cuda] " + cuda.description());
    }

    private static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(-3, 3);
        }
        return v;
    }

    @Test
    void allocateIsZeroFilled() {
        try (Tensor t = cuda.allocate(DType.F32, 3, 1000)) {
            for (float f : Tensors.toFloats(t)) {
                assertEquals(0f, f);
            }
        }
    }

    @Test
    void roundTripThroughStridedViews() {
        float[] v = random(37 * 11, 1);
        try (Tensor parent = cuda.allocate(DType.BF16, 40, 16)) {
            Tensor view = parent.slice(2, 37).narrowLast(3, 11); // offset rows and columns, row stride 16
            Tensors.writeFloats(view, v);
            float[] back = Tensors.toFloats(view);
            for (int i = 0; i < v.length; i++) {
                assertEquals(dev.jvllm.api.Numerics.roundTo(DType.BF16, v[i]), back[i], "element " + i);
            }
            // the rows around the view stay zero
            float[] all = Tensors.toFloats(parent);
            assertEquals(0f, all[0]);
            assertEquals(0f, all[2 * 16 + 2]);
            assertEquals(0f, all[2 * 16 + 14]);
        }
    }

    @Test
    void largeTransfersCrossStagingChunks() {
        int rows = 3000, cols = 1500; // 18 MB of f32: three 8 MiB staging chunks, contiguous and 2D
        float[] v = random(rows * cols, 2);
        try (Tensor t = cuda.allocate(DType.F32, rows, cols + 7)) {
            Tensor view = t.narrowLast(5, cols);
            Tensors.writeFloats(view, v);
            assertArrayEquals(v, Tensors.toFloats(view));
        }
        try (Tensor t = Tensors.fromFloats(cuda, DType.F32, v, rows, cols)) {
            assertArrayEquals(v, Tensors.toFloats(t));
        }
    }

    @Test
    void allocatorReusesFreedBlocksAndCounts() {
        DeviceMemory before = cuda.deviceMemory();
        Tensor a = cuda.allocate(DType.F32, 1000, 1000);
        DeviceMemory during = cuda.deviceMemory();
        assertTrue(during.inUse() >= before.inUse() + 4_000_000L, cuda.memoryStats());
        a.close();
        a.close(); // idempotent
        long reserved = cuda.deviceMemory().reserved();
        try (Tensor b = cuda.allocate(DType.F32, 999, 1001)) { // same size class: no new driver memory
            assertEquals(999 * 1001, b.numel());
            assertEquals(reserved, cuda.deviceMemory().reserved(), cuda.memoryStats());
        }
        assertEquals(before.inUse(), cuda.deviceMemory().inUse(), cuda.memoryStats());
        assertTrue(cuda.deviceMemory().peak() >= during.inUse());
    }

    @Test
    void closedTensorsFailOnUse() {
        Tensor t = cuda.allocate(DType.F32, 4, 4);
        Tensor view = t.slice(1, 2);
        t.close();
        assertThrows(IllegalStateException.class, () -> Tensors.toFloats(view));
    }

    @Test
    void badIndicesAreReportedAtSynchronizeAndRead() {
        try (Tensor src = cuda.allocate(DType.F32, 5, 4); Tensor idx = Tensors.fromInts(cuda, new int[] {1, 7}, 2);
                Tensor dst = cuda.allocate(DType.F32, 2, 4)) {
            cuda.gatherRows(new GatherRows(src, idx, dst));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains("indices[1] = 7"), e.getMessage());
            cuda.synchronize(); // reported once
            cuda.gatherRows(new GatherRows(src, idx, dst)); // a read raises it too, once
            e = assertThrows(IllegalArgumentException.class, () -> Tensors.toFloats(dst));
            assertTrue(e.getMessage().contains("indices[1] = 7"), e.getMessage());
            assertEquals(8, Tensors.toFloats(dst).length);
        }
        try (Tensor k = cuda.allocate(DType.F32, 1, 8); Tensor cache = cuda.allocate(DType.F32, 2, 4, 1, 8);
                Tensor v = cuda.allocate(DType.F32, 2, 4, 1, 8); Tensor slots = Tensors.fromInts(cuda, new int[] {8}, 1)) {
            cuda.kvCacheWrite(new KvCacheWrite(k, k, cache, v, slots));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains("slotMapping[0] = 8"), e.getMessage());
        }
        try (Tensor pos = Tensors.fromInts(cuda, new int[] {0, 3}, 2); Tensor q = cuda.allocate(DType.F32, 2, 8);
                Tensor cs = cuda.allocate(DType.F32, 3, 8)) {
            cuda.rotary(new Rotary(pos, q, null, cs, 8, 8, true));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, cuda::synchronize);
            assertTrue(e.getMessage().contains("positions[1] = 3"), e.getMessage());
        }
    }

    /**
     * readLater returns the bytes as they were when it was called, whatever ops come after it (the
     * source may even be overwritten or closed), raises a reported error at await, and falls back to
     * an immediate read for a strided view.
     */
    @Test
    void aLaterReadGivesTheBytesOfItsMomentAndRaisesAtAwait() {
        float[] v = random(1000, 4);
        PendingRead later;
        try (Tensor t = Tensors.fromFloats(cuda, DType.F32, v, 1000)) {
            later = cuda.readLater(t);
            cuda.fill(new Fill(t, 7.0)); // enqueued after: not in the read
        }
        MemorySegment got = java.lang.foreign.Arena.ofAuto().allocate(4000);
        later.await(got);
        assertArrayEquals(v, got.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT));
        assertThrows(IllegalStateException.class, () -> later.await(got), "awaited once");
        // the copy kernel's word loop (16-byte aligned start) and byte loop (any other), up to the slot's size
        float[] big = random(16384, 6);
        try (Tensor t = Tensors.fromFloats(cuda, DType.F32, big, 16384)) {
            for (int[] range : new int[][] {{0, 16384}, {1, 16383}, {3, 5}, {4, 1}, {16383, 1}}) {
                PendingRead r = cuda.readLater(t.slice(range[0], range[1]));
                MemorySegment s = java.lang.foreign.Arena.ofAuto().allocate(4L * range[1]);
                r.await(s);
                assertArrayEquals(java.util.Arrays.copyOfRange(big, range[0], range[0] + range[1]),
                        s.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), "elements " + range[0] + " + " + range[1]);
            }
        }
        float[] m = random(12, 5);
        try (Tensor t = Tensors.fromFloats(cuda, DType.F32, m, 3, 4)) {
            PendingRead strided = cuda.readLater(t.narrowLast(1, 2)); // columns 1..2 of each row
            MemorySegment s = java.lang.foreign.Arena.ofAuto().allocate(24);
            strided.await(s);
            assertArrayEquals(new float[] {m[1], m[2], m[5], m[6], m[9], m[10]},
                    s.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT));
        }
        try (Tensor src = cuda.allocate(DType.F32, 5, 4); Tensor idx = Tensors.fromInts(cuda, new int[] {9}, 1);
                Tensor dst = cuda.allocate(DType.F32, 1, 4)) {
            cuda.gatherRows(new GatherRows(src, idx, dst));
            PendingRead bad = cuda.readLater(dst);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> bad.await(java.lang.foreign.Arena.ofAuto().allocate(16)));
            assertTrue(e.getMessage().contains("indices[0] = 9"), e.getMessage());
            cuda.synchronize(); // reported once
            cuda.readLater(dst).close(); // a read never awaited gives its slot back
        }
    }

    /**
     * A reported error is raised once even with several reads in flight: raising it clears the error
     * word in stream order, so a read enqueued before that clear still finds the word set when its
     * copy lands (here ms later, behind a queue of fills); that read, and a synchronize after it, must
     * not raise the same error again, while an error reported after the clear is raised.
     */
    @Test
    void anErrorIsRaisedOnceWithReadsInFlight() {
        try (Tensor src = cuda.allocate(DType.F32, 5, 4); Tensor idx = Tensors.fromInts(cuda, new int[] {9}, 1);
                Tensor dst = cuda.allocate(DType.F32, 1, 4); Tensor big = cuda.allocate(DType.F32, 64 << 20)) {
            cuda.gatherRows(new GatherRows(src, idx, dst));
            PendingRead first = cuda.readLater(dst);
            for (int i = 0; i < 200; i++) {
                cuda.fill(new Fill(big, i)); // 200 x 256 MB (ms of work): the next reads land after the first is raised
            }
            PendingRead second = cuda.readLater(dst);
            PendingRead third = cuda.readLater(dst);
            MemorySegment m = Arena.ofAuto().allocate(16);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> first.await(m));
            assertTrue(e.getMessage().contains("indices[0] = 9"), e.getMessage());
            second.await(m); // its copy shows the error raised above: not again
            third.close();
            cuda.synchronize(); // nothing left to raise
            cuda.gatherRows(new GatherRows(src, idx, dst)); // a new error after the clear
            PendingRead fourth = cuda.readLater(dst);
            e = assertThrows(IllegalArgumentException.class, () -> fourth.await(m));
            assertTrue(e.getMessage().contains("indices[0] = 9"), e.getMessage());
            cuda.synchronize();
        }
    }

    @Test
    void overlappingCopyMovesTheOldSource() {
        float[] v = random(10, 3);
        try (Tensor t = Tensors.fromFloats(cuda, DType.F32, v, 10)) {
            cuda.copy(new Copy(t.slice(0, 8), t.slice(2, 8)));
            float[] back = Tensors.toFloats(t);
            for (int i = 0; i < 8; i++) {
                assertEquals(v[i], back[i + 2]);
            }
        }
    }

    @Test
    void anotherThreadCanUseTheBackend() throws Exception {
        float[] v = random(64, 4);
        try (Tensor src = Tensors.fromFloats(cuda, DType.F32, v, 8, 8); Tensor dst = cuda.allocate(DType.F16, 8, 8)) {
            Thread th = new Thread(() -> cuda.cast(new Cast(src, dst)));
            th.start();
            th.join();
            float[] back = Tensors.toFloats(dst);
            for (int i = 0; i < v.length; i++) {
                assertEquals(dev.jvllm.api.Numerics.roundTo(DType.F16, v[i]), back[i]);
            }
        }
    }

    /**
     * A virtual thread may run each op on another carrier, where this device's context was never made
     * current: simulated by unbinding the context from the carrier between two ops. The second op
     * allocates device memory of a size the allocator has never held (cuMemAlloc needs the context;
     * launches and copies on the backend's stream would find it through the stream).
     */
    @Test
    void aVirtualThreadFindsTheContextOnAnyCarrier() throws Exception {
        float[] v = random(64, 5);
        int fresh = (37 << 20) / Float.BYTES + 5; // 37 MiB and a little: no cached block fits it
        try (Tensor src = Tensors.fromFloats(cuda, DType.F32, v, 8, 8); Tensor dst = cuda.allocate(DType.F16, 8, 8)) {
            Throwable[] failure = new Throwable[1];
            float[][] back = new float[1][];
            Thread th = Thread.ofVirtual().start(() -> {
                try {
                    cuda.cast(new Cast(src, dst));
                    Driver.setCurrent(MemorySegment.NULL); // the carrier this virtual thread runs on has no context
                    try (Tensor big = cuda.allocate(DType.F32, fresh)) {
                        cuda.cast(new Cast(dst.reshape(64), big.slice(0, 64)));
                        back[0] = Tensors.toFloats(big.slice(0, 64));
                    }
                } catch (Throwable t) {
                    failure[0] = t;
                }
            });
            th.join();
            assertNull(failure[0], () -> "the second op on a virtual thread failed: " + failure[0]);
            for (int i = 0; i < v.length; i++) {
                assertEquals(dev.jvllm.api.Numerics.roundTo(DType.F16, v[i]), back[0][i]);
            }
        }
    }

    @Test
    void supportsAnswersFromDtypesAndFormats() {
        try (Tensor ints = cuda.allocate(DType.I32, 2, 3); Tensor ids = cuda.allocate(DType.I32, 2);
                Tensor x = cuda.allocate(DType.BF16, 2, 3); Tensor w8 = cuda.allocate(DType.I8, 4, 3);
                Tensor s8 = cuda.allocate(DType.F32, 4); Tensor out = cuda.allocate(DType.BF16, 2, 4)) {
            assertFalse(cuda.supports(new Argmax(ints, ids)), "integer logits");
            assertTrue(cuda.supports(new Argmax(x, ids)));
            assertTrue(cuda.supports(new Linear(x, new LinearWeight.Int8(w8, s8), null, out)), "int8 weights");
        }
    }

    @Test
    void rawSegmentsOfTheWrongSizeAreRejected() {
        try (Tensor t = cuda.allocate(DType.F32, 4); Arena arena = Arena.ofConfined()) {
            MemorySegment small = arena.allocate(ValueLayout.JAVA_FLOAT, 3);
            assertThrows(IllegalArgumentException.class, () -> cuda.write(t, small));
            assertThrows(IllegalArgumentException.class, () -> cuda.read(t, small));
        }
    }
}
