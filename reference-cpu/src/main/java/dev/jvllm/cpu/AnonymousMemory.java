package dev.jvllm.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Large zero-filled buffers from anonymous {@code mmap} (Linux): the kernel hands out zero pages
 * on first touch, so a KV cache of gigabytes costs nothing until it is used, and its resident size
 * grows only with the tokens actually cached. {@code Arena.allocate} instead zero-fills the whole
 * buffer up front (seconds for a large cache). Elsewhere, or if mmap fails, callers fall back to the
 * arena.
 */
final class AnonymousMemory {
    /** Below this, an arena allocation is as cheap and wastes no page. */
    static final long THRESHOLD = 1L << 21;

    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;
    private static final MethodHandle MMAP, MUNMAP;

    static {
        MethodHandle mmap = null, munmap = null;
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            mmap = libc.find("mmap").map(s -> linker.downcallHandle(s, FunctionDescriptor.of(ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG))).orElse(null);
            munmap = libc.find("munmap").map(s -> linker.downcallHandle(s, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG))).orElse(null);
        }
        MMAP = munmap == null ? null : mmap;
        MUNMAP = mmap == null ? null : munmap;
    }

    private AnonymousMemory() {
    }

    /**
     * {@code bytes} of zeroed, page-aligned memory whose lifetime is {@code arena}'s (unmapped when
     * it closes), or null when anonymous mappings are unavailable here.
     */
    static MemorySegment allocate(long bytes, Arena arena) {
        if (MMAP == null) {
            return null;
        }
        try {
            MemorySegment p = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
            if (p.address() == -1L) { // MAP_FAILED
                return null;
            }
            return p.reinterpret(bytes, arena, s -> unmap(s, bytes));
        } catch (Throwable t) {
            throw new IllegalStateException("mmap of " + bytes + " bytes failed: " + t, t);
        }
    }

    private static void unmap(MemorySegment s, long bytes) {
        try {
            int rc = (int) MUNMAP.invokeExact(s, bytes);
            if (rc != 0) {
                throw new IllegalStateException("munmap of " + bytes + " bytes failed");
            }
        } catch (Throwable t) {
            throw new IllegalStateException("munmap of " + bytes + " bytes failed: " + t, t);
        }
    }
}
