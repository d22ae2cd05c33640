package dev.jvllm.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The host-side read ({@link PendingRead#done}, what Backend.readLater returns by default) keeps the once-only contract. */
class PendingReadTest {
    @Test
    void aDoneReadDeliversItsBytesOnce() {
        MemorySegment bytes = Arena.ofAuto().allocateFrom(ValueLayout.JAVA_INT, 3, 1, 4);
        PendingRead read = PendingRead.done(bytes);
        MemorySegment dst = Arena.ofAuto().allocate(12);
        read.await(dst);
        assertArrayEquals(new int[] {3, 1, 4}, dst.toArray(ValueLayout.JAVA_INT));
        assertThrows(IllegalStateException.class, () -> read.await(dst), "awaited twice");
        read.close(); // a no-op after await
    }

    @Test
    void aClosedReadCannotBeAwaited() {
        PendingRead read = PendingRead.done(Arena.ofAuto().allocate(4));
        read.close();
        assertThrows(IllegalStateException.class, () -> read.await(Arena.ofAuto().allocate(4)));
    }
}
