package dev.jvllm.cpu;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * The worker pool: every task runs exactly once whatever the thread count, writes are visible when
 * forEach returns, exceptions reach the caller, and regions started from inside a task or by a
 * second caller complete.
 */
class ParallelTest {
    @Test
    void everyTaskRunsExactlyOnceForManyRegionsAndThreadCounts() {
        for (int threads : new int[] {1, 2, 3, 7}) {
            try (Parallel p = new Parallel(threads)) {
                for (int n : new int[] {1, 2, 3, 5, 16, 17, 100, 1000}) {
                    for (int rep = 0; rep < 50; rep++) { // back to back: workers polling, then parked
                        AtomicIntegerArray hits = new AtomicIntegerArray(n);
                        p.forEach(n, hits::incrementAndGet);
                        for (int i = 0; i < n; i++) {
                            assertEquals(1, hits.get(i), "task " + i + " of " + n + ", " + threads + " threads");
                        }
                    }
                }
            }
        }
    }

    @Test
    void writesOfEveryTaskAreVisibleWhenForEachReturns() {
        try (Parallel p = new Parallel(2)) {
            for (int rep = 0; rep < 2000; rep++) {
                int[] out = new int[64]; // plain writes: forEach's return must publish them
                int v = rep;
                p.forEach(out.length, i -> out[i] = v + i);
                for (int i = 0; i < out.length; i++) {
                    assertEquals(rep + i, out[i]);
                }
            }
        }
    }

    @Test
    void aTaskExceptionReachesTheCallerAndThePoolKeepsWorking() {
        try (Parallel p = new Parallel(3)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.forEach(64, i -> {
                if (i == 40) {
                    throw new IllegalStateException("task 40");
                }
            }));
            // thrown in a worker, ForkJoin rethrows a copy whose cause (or message) is the original
            assertTrue(e.getMessage().contains("task 40")
                    || (e.getCause() != null && e.getCause().getMessage().contains("task 40")), e.toString());
            AtomicInteger count = new AtomicInteger();
            p.forEach(64, i -> count.incrementAndGet());
            assertEquals(64, count.get());
        }
    }

    @Test
    void nestedAndConcurrentRegionsComplete() throws Exception {
        try (Parallel p = new Parallel(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(16 * 8);
            p.forEach(16, i -> p.forEach(8, j -> hits.incrementAndGet(i * 8 + j)));
            for (int i = 0; i < hits.length(); i++) {
                assertEquals(1, hits.get(i));
            }
            // two callers at once: both complete, every task once
            AtomicIntegerArray a = new AtomicIntegerArray(5000), b = new AtomicIntegerArray(5000);
            CountDownLatch start = new CountDownLatch(1);
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                for (int rep = 0; rep < 20; rep++) {
                    int r = rep;
                    p.forEach(250, i -> b.incrementAndGet(r * 250 + i));
                }
            });
            start.countDown();
            for (int rep = 0; rep < 20; rep++) {
                int r = rep;
                p.forEach(250, i -> a.incrementAndGet(r * 250 + i));
            }
            other.join();
            for (int i = 0; i < 5000; i++) {
                assertEquals(1, a.get(i));
                assertEquals(1, b.get(i));
            }
        }
    }
}
