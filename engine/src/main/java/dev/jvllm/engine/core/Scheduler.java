package dev.jvllm.engine.core;

import dev.jvllm.engine.kv.KvBlockManager;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Continuous batching (vLLM v1's scheduler, without its priorities): every step picks how many
 * tokens of which sequences run, under a token budget ({@code maxNumBatchedTokens}) and a sequence
 * limit ({@code maxNumSeqs}).
 * <ol>
 *   <li>Running sequences first, oldest first: each gets its pending tokens (one for a decode; the
 *       rest of its prompt, cut to the budget, for a chunked prefill). When the block pool cannot
 *       hold them, the newest running sequence is preempted by recompute — its blocks and state
 *       slot are freed and it goes back to the front of the queue with its output so far, to be
 *       computed again (prompt + generated tokens) when there is room — until the blocks suffice
 *       or the sequence itself was the newest.</li>
 *   <li>Then, if nothing was preempted, waiting sequences in arrival order while budget, sequence
 *       limit and blocks allow: each takes its longest prefix-cache hit and computes the rest,
 *       in chunks when chunked prefill is on (else only whole prompts that fit the budget).</li>
 * </ol>
 * The step's batch lists decodes (one token) first, then prefill chunks.
 *
 * <p>Not thread-safe: the engine thread owns it.
 */
final class Scheduler {
    /** A sequence's share of one step: {@code numTokens} tokens from position {@code start}. */
    record Scheduled(Sequence seq, int start, int numTokens) {
    }

    private final KvBlockManager kv;
    private final int maxNumSeqs;
    private final int maxNumBatchedTokens;
    private final boolean chunkedPrefill;
    private final boolean prefixCaching;
    private final boolean stateful;
    private final Deque<Sequence> waiting = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Deque<Integer> freeSlots = new ArrayDeque<>();
    private final int numSlots;
    long preemptions;
    long cachedTokens;

    Scheduler(KvBlockManager kv, int maxNumSeqs, int maxNumBatchedTokens, boolean chunkedPrefill,
            boolean prefixCaching, boolean stateful) {
        this.kv = kv;
        this.maxNumSeqs = maxNumSeqs;
        this.maxNumBatchedTokens = maxNumBatchedTokens;
        this.chunkedPrefill = chunkedPrefill;
        this.prefixCaching = prefixCaching;
        this.stateful = stateful;
        this.numSlots = stateful ? maxNumSeqs : 0;
        for (int s = 0; s < numSlots; s++) {
            freeSlots.add(s);
        }
    }

    void add(Sequence seq) {
        waiting.addLast(seq);
    }

    boolean hasUnfinished() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    int numRunning() {
        return running.size();
    }

    int numWaiting() {
        return waiting.size();
    }

    int stateSlotsInUse() {
        return numSlots - freeSlots.size();
    }

    /** The next step's batch: decodes first, then prefill chunks; empty when nothing can run. */
    List<Scheduled> schedule() {
        int budget = maxNumBatchedTokens;
        List<Scheduled> scheduled = new ArrayList<>();
        boolean preempted = false;
        for (int i = 0; i < running.size() && budget > 0; i++) {
            Sequence seq = running.get(i);
            int n = Math.min(seq.numTokens() - seq.numComputed, budget);
            boolean selfPreempted = false;
            while (!kv.allocateSlots(seq.id, n)) {
                Sequence victim = running.remove(running.size() - 1);
                preempt(victim);
                preempted = true;
                if (victim == seq) {
                    selfPreempted = true;
                    break;
                }
            }
            if (selfPreempted) {
                break;
            }
            scheduled.add(new Scheduled(seq, seq.numComputed, n));
            budget -= n;
        }
        while (!preempted && budget > 0 && !waiting.isEmpty() && running.size() < maxNumSeqs) {
            Sequence seq = waiting.peekFirst();
            // a request that wants prompt logprobs computes every position (vLLM skips the cache read)
            boolean readCache = prefixCaching && seq.promptLogprobs == null;
            int cached = kv.startSequence(seq.id, seq.allTokens(), readCache);
            int n = seq.numTokens() - cached;
            if (n > budget && !chunkedPrefill) {
                kv.free(seq.id);
                break;
            }
            n = Math.min(n, budget);
            if (!kv.allocateSlots(seq.id, n)) {
                kv.free(seq.id);
                break;
            }
            waiting.pollFirst();
            seq.numComputed = cached;
            seq.committedBlocks = cached / kv.blockSize();
            cachedTokens += cached;
            if (stateful) {
                seq.stateSlot = freeSlots.pollFirst();
            }
            running.add(seq);
            scheduled.add(new Scheduled(seq, cached, n));
            budget -= n;
        }
        List<Scheduled> ordered = new ArrayList<>(scheduled.size());
        for (Scheduled s : scheduled) {
            if (s.numTokens() == 1) {
                ordered.add(s);
            }
        }
        for (Scheduled s : scheduled) {
            if (s.numTokens() != 1) {
                ordered.add(s);
            }
        }
        return ordered;
    }

    private void preempt(Sequence seq) {
        release(seq);
        seq.numComputed = 0;
        seq.committedBlocks = 0;
        waiting.addFirst(seq);
        preemptions++;
    }

    /** Frees a sequence's blocks and state slot. */
    private void release(Sequence seq) {
        kv.free(seq.id);
        if (seq.stateSlot >= 0) {
            freeSlots.addFirst(seq.stateSlot);
            seq.stateSlot = -1;
        }
    }

    /** Removes a finished or aborted sequence, wherever it is, and frees what it holds. */
    void remove(Sequence seq) {
        if (running.remove(seq)) {
            release(seq);
        } else {
            waiting.remove(seq);
        }
    }

    /** Offers the sequence's newly full computed blocks to the prefix cache. */
    void commit(Sequence seq) {
        if (!prefixCaching) {
            return;
        }
        int full = seq.numComputed / kv.blockSize();
        if (full > seq.committedBlocks) {
            kv.commitTokens(seq.id, seq.tokens(0, full * kv.blockSize()));
            seq.committedBlocks = full;
        }
    }
}
