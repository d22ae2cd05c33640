package dev.jvllm.cuda;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** {@code -Djvllm.cuda.gemvRing}'s forms (no GPU needed): the accepted ones and the error for the rest. */
class GemvRingSpecTest {
    @Test
    void acceptedFormsGiveStagesEarlyAndBlocksPerSm() {
        assertArrayEquals(new int[] {3, 2, 2}, LinearKernels.ringSpec("3.2"), "the default: 2 blocks per SM");
        assertArrayEquals(new int[] {2, 1, 3}, LinearKernels.ringSpec("2.1.3"));
        assertArrayEquals(new int[] {3, 3, 1}, LinearKernels.ringSpec("3.3.1"));
        assertNull(LinearKernels.ringSpec("off"), "the register form");
    }

    @Test
    void otherValuesFailNamingThePropertyAndTheAcceptedForms() {
        for (String bad : new String[] {"", "3", "4.2", "1.1", "3.0", "2.3", "3.2.0", "3.2.5", "3.2.1.1", "a.b", "3,2"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LinearKernels.ringSpec(bad),
                    bad);
            assertTrue(e.getMessage().startsWith("-Djvllm.cuda.gemvRing: off or STAGES.EARLY[.BLOCKS_PER_SM]"),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith("got \"" + bad + "\""), e.getMessage());
        }
    }
}
