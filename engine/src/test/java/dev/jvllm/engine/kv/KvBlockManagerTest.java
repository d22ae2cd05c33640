package dev.jvllm.engine.kv;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KvBlockManagerTest {

    static int[] tokens(int n, int seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(1000);
        }
        return t;
    }

    @Test
    void slotsFollowTheBlockTable() {
        KvBlockManager m = new KvBlockManager(8, 4, false);
        assertEquals(0, m.startSequence(1, tokens(6, 1)));
        assertTrue(m.allocateSlots(1, 6));
        int[] table = m.blockTable(1);
        assertEquals(2, table.length);
        assertEquals(table[1] * 4 + 1, m.slot(1, 5));
        assertTrue(m.allocateSlots(1, 3)); // 9 tokens: a third block
        assertEquals(3, m.blockTable(1).length);
        assertThrows(IllegalArgumentException.class, () -> m.slot(1, 9));
        m.free(1);
        assertEquals(8, m.numFreeBlocks());
    }

    @Test
    void notEnoughBlocksChangesNothing() {
        KvBlockManager m = new KvBlockManager(3, 4, true);
        m.startSequence(1, tokens(8, 1));
        assertTrue(m.allocateSlots(1, 8));
        m.startSequence(2, tokens(8, 2));
        assertFalse(m.allocateSlots(2, 8));
        assertEquals(1, m.numFreeBlocks());
        assertEquals(0, m.blockTable(2).length);
        assertTrue(m.allocateSlots(2, 4));
    }

    @Test
    void aSharedPrefixReusesFullBlocksButLeavesTheLastTokenToCompute() {
        KvBlockManager m = new KvBlockManager(16, 16, true);
        int[] a = tokens(40, 7);
        m.startSequence(1, a);
        m.allocateSlots(1, a.length);
        m.commitTokens(1, a);
        int[] shared = m.blockTable(1);

        int[] b = Arrays.copyOf(a, 45);
        b[36] = -1; // differs in the third block
        assertEquals(32, m.startSequence(2, b), "two full blocks are shared");
        assertArrayEquals(Arrays.copyOf(shared, 2), m.blockTable(2));
        assertEquals(2, m.refCount(shared[0]));
        assertEquals(32, m.prefixHitTokens());

        int[] exact = Arrays.copyOf(a, 32); // the whole prompt is cached: the last block is recomputed
        assertEquals(16, m.startSequence(3, exact));
    }

    @Test
    void freedCachedBlocksAreReusedUntilEvictedLeastRecentlyFreedFirst() {
        KvBlockManager m = new KvBlockManager(4, 4, true);
        int[] a = tokens(9, 3);
        m.startSequence(1, a);
        m.allocateSlots(1, 9);
        m.commitTokens(1, a);
        m.free(1);
        assertEquals(4, m.numFreeBlocks());
        assertEquals(8, m.startSequence(2, a), "cached after free");
        m.free(2);
        // fill the pool with other content: the cached blocks are evicted
        int[] c = tokens(16, 4);
        m.startSequence(3, c);
        assertTrue(m.allocateSlots(3, 16));
        m.free(3);
        assertEquals(0, m.startSequence(4, a), "evicted");
    }

    /**
     * Random workloads on a small pool: whatever the interleaving, a prefix hit hands out blocks
     * whose (simulated) KV content is exactly the prompt's, reference counts add up, and nothing
     * leaks once every sequence has ended.
     */
    @Test
    void randomWorkloadsNeverServeWrongContentOrLeakBlocks() {
        for (int seed = 0; seed < 200; seed++) {
            Random r = new Random(seed);
            int bs = 1 + r.nextInt(4);
            KvBlockManager m = new KvBlockManager(6 + r.nextInt(10), bs, true);
            int[][] content = new int[m.numBlocks()][bs]; // what "KV" each slot holds: the token computed there
            for (int[] row : content) {
                Arrays.fill(row, Integer.MIN_VALUE);
            }
            Map<Long, int[]> running = new HashMap<>();
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                prompts.add(tokens(1 + r.nextInt(12), r.nextInt(3))); // few seeds: many shared prefixes
            }
            long next = 0;
            for (int step = 0; step < 60; step++) {
                if (!running.isEmpty() && r.nextInt(3) == 0) {
                    long id = running.keySet().iterator().next();
                    m.free(id);
                    running.remove(id);
                    continue;
                }
                long id = next++;
                int[] p = prompts.get(r.nextInt(prompts.size()));
                int hit = m.startSequence(id, p);
                int[] table = m.blockTable(id);
                for (int pos = 0; pos < hit; pos++) {
                    assertEquals(p[pos], content[table[pos / bs]][pos % bs], "seed " + seed + ": stale prefix hit");
                }
                if (!m.allocateSlots(id, p.length - hit)) {
                    m.free(id);
                    continue;
                }
                table = m.blockTable(id);
                for (int pos = hit; pos < p.length; pos++) { // "compute" the KV of the new tokens
                    content[table[pos / bs]][pos % bs] = p[pos];
                }
                m.commitTokens(id, p);
                running.put(id, p);
                int held = 0;
                for (int b = 0; b < m.numBlocks(); b++) {
                    held += m.refCount(b) > 0 ? 1 : 0;
                }
                assertEquals(m.numBlocks(), held + m.numFreeBlocks(), "seed " + seed);
            }
            for (long id : new ArrayList<>(running.keySet())) {
                m.free(id);
            }
            assertEquals(m.numBlocks(), m.numFreeBlocks(), "seed " + seed + ": leaked blocks");
            assertEquals(0, m.numSequences());
        }
    }
}
