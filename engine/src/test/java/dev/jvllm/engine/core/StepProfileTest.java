package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The step profile counts steps by kind and prints one row per kind that ran, phases in order. */
class StepProfileTest {
    /** A decode chunk (one token of a running sequence, its logits wanted) or a prompt's first chunk. */
    private static ModelRunner.Chunk chunk(boolean decode) {
        return decode ? new ModelRunner.Chunk(new int[] {7}, 5, new int[] {0}, -1, new int[] {0})
                : new ModelRunner.Chunk(new int[] {1, 2, 3}, 0, new int[] {0}, -1, new int[] {2});
    }

    private static void step(StepProfile p, boolean decode, int seqs) {
        p.start();
        p.lap(); // schedule
        p.kind(java.util.Collections.nCopies(seqs, chunk(decode)));
        p.lap(); // inputs
        p.lap(); // forward
        p.lap(); // sample
        p.lap(); // outputs
    }

    @Test
    void printsARowPerKindWithItsStepCountAndSequencesPerStep() {
        StepProfile p = new StepProfile(true);
        step(p, true, 4);
        step(p, true, 2);
        step(p, false, 1);
        p.start();
        p.lap(); // an empty schedule: no kind, not counted
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        p.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(4, lines.length, String.join("\n", lines));
        assertTrue(lines[1].matches("steps\\s+count\\s+seqs/step\\s+schedule\\s+inputs\\s+forward\\s+sample\\s+outputs\\s+total"),
                lines[1]);
        assertTrue(lines[2].matches("decode-only\\s+2\\s+3\\.0\\s.*"), lines[2]);
        assertTrue(lines[3].matches("other\\s+1\\s+1\\.0\\s.*"), lines[3]);
    }

    @Test
    void offRecordsAndPrintsNothing() {
        StepProfile p = new StepProfile(false);
        step(p, true, 3);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        p.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
    }
}
