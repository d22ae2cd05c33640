package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.engine.kv.KvBlockManager;
import java.util.List;
import org.junit.jupiter.api.Test;

class SchedulerTest {
    private long nextId;

    Sequence seq(int promptLength) {
        int[] prompt = new int[promptLength];
        var r = new Sequence.Request("r" + nextId, prompt, SamplingParams.greedy(8), 8, -1, new int[0], new int[0], -1, -1);
        return new Sequence(nextId++, r, 0, 0, null);
    }

    /** What the engine does after a step: the scheduled tokens are computed and each finished prompt gets a token. */
    static void computed(List<Scheduler.Scheduled> batch) {
        for (Scheduler.Scheduled s : batch) {
            s.seq().numComputed = s.start() + s.numTokens();
            if (s.seq().numComputed == s.seq().numTokens()) {
                s.seq().append(7);
            }
        }
    }

    @Test
    void decodesComeFirstThenPrefillChunksUnderTheTokenBudget() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 16, false), 8, 20, true, false, false);
        Sequence a = seq(10);
        s.add(a);
        computed(s.schedule());
        Sequence b = seq(30);
        s.add(b);
        List<Scheduler.Scheduled> batch = s.schedule();
        assertEquals(2, batch.size());
        assertSame(a, batch.get(0).seq());
        assertEquals(1, batch.get(0).numTokens(), "a's decode first");
        assertEquals(19, batch.get(1).numTokens(), "b's prompt chunked to the rest of the budget");
        computed(batch);
        batch = s.schedule();
        assertEquals(List.of(1, 11), batch.stream().map(Scheduler.Scheduled::numTokens).toList());
        assertEquals(19, batch.get(1).start(), "the second chunk continues where the first ended");
    }

    @Test
    void withoutChunkedPrefillAPromptWaitsForABudgetItFitsWhole() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 16, false), 8, 20, false, false, false);
        Sequence a = seq(10);
        Sequence b = seq(15);
        s.add(a);
        s.add(b);
        List<Scheduler.Scheduled> batch = s.schedule();
        assertEquals(1, batch.size(), "b's 15 tokens do not fit the 10 left");
        computed(batch);
        assertEquals(List.of(1, 15), s.schedule().stream().map(Scheduler.Scheduled::numTokens).toList());
    }

    @Test
    void theSequenceLimitHoldsAndStateSlotsFollowTheRunningSequences() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 16, false), 2, 100, true, false, true);
        Sequence a = seq(3);
        Sequence b = seq(3);
        Sequence c = seq(3);
        s.add(a);
        s.add(b);
        s.add(c);
        computed(s.schedule());
        assertEquals(2, s.numRunning());
        assertEquals(1, s.numWaiting());
        assertEquals(2, s.stateSlotsInUse());
        assertNotEquals(a.stateSlot, b.stateSlot);
        s.remove(a);
        assertEquals(-1, a.stateSlot);
        List<Scheduler.Scheduled> batch = s.schedule();
        assertSame(c, batch.get(1).seq());
        assertTrue(c.stateSlot >= 0 && c.stateSlot < 2);
    }

    @Test
    void whenBlocksRunOutTheNewestRunningSequenceIsPreemptedAndRequeuedFirst() {
        KvBlockManager kv = new KvBlockManager(3, 4, false);
        Scheduler s = new Scheduler(kv, 8, 100, true, false, false);
        Sequence a = seq(4);
        Sequence b = seq(4);
        Sequence c = seq(3);
        s.add(a);
        s.add(b);
        s.add(c);
        computed(s.schedule()); // a and b take a block each and get a token; c takes the third block
        assertEquals(3, s.numRunning());
        // a's 5th token needs a second block: c (newest) is preempted for it; then b needs one too and,
        // being the newest left, preempts itself
        List<Scheduler.Scheduled> batch = s.schedule();
        assertEquals(List.of(a), batch.stream().map(Scheduler.Scheduled::seq).toList());
        assertEquals(2, s.preemptions);
        assertEquals(2, s.numWaiting());
        assertEquals(0, b.numComputed);
        assertEquals(0, c.numComputed, "c will be recomputed");
        assertEquals(1, c.numOutput(), "c keeps its output");
        computed(batch);
        s.remove(a); // a finishes: b and c fit again, b first
        assertEquals(List.of(b, c), s.schedule().stream().map(Scheduler.Scheduled::seq).toList());
    }
}
