package dev.jvllm.models.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HugePageAdviceTest {
    /**
     * The advice reaches the kernel: on Linux with transparent huge pages built in (the sysfs folder
     * exists) madvise accepts it for a file mapping whatever the THP mode is; elsewhere it is not made.
     * A wrong native signature would fail or be refused here.
     */
    @Test
    void theKernelTakesTheAdviceWhereItHasHugePages(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("w.bin");
        Files.write(f, new byte[3 << 20]);
        boolean linux = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
        boolean thp = linux && Files.isDirectory(Path.of("/sys/kernel/mm/transparent_hugepage"));
        try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            assertEquals(thp, HugePageAdvice.advise(m));
            assertEquals(0, m.get(ValueLayout.JAVA_BYTE, (2 << 20) + 5)); // still reads
            assertFalse(HugePageAdvice.advise(MemorySegment.NULL), "an empty segment is not advised");
        }
    }
}
