package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.models.CausalLM;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A scripted run of steps straight through {@link ModelRunner}s, for comparing how decode steps run
 * (eager, padded, graphs): prefills, decode batches of 1 to 6 sequences (so most are padded to a
 * capture size), a mixed decode + prefill step, sequences finishing and joining between steps, each
 * decode batch repeated so that a graph is captured and then replayed. Tokens are random and fixed
 * up front, so every runner sees the same inputs whatever its logits.
 */
final class RunnerScript {
    static final int BLOCK_SIZE = 16;
    static final int MAX_MODEL_LEN = 64;
    static final int MAX_SEQS = 8;
    private static final int BLOCKS_PER_SEQ = MAX_MODEL_LEN / BLOCK_SIZE;

    /** Compares one step's logits ({@code [R, vocab]}, flat) of two runners. */
    interface Check {
        void compare(String step, float[] expected, float[] actual);
    }

    private final List<List<ModelRunner.Chunk>> steps = new ArrayList<>();
    private final int[] length = new int[MAX_SEQS];
    private final boolean stateful;
    private final Random random;

    private RunnerScript(long seed, boolean stateful) {
        this.random = new Random(seed);
        this.stateful = stateful;
    }

    static RunnerScript of(long seed, boolean stateful) {
        RunnerScript s = new RunnerScript(seed, stateful);
        s.step(s.prefill(0, 5), s.prefill(1, 9), s.prefill(2, 3));
        s.decodes(4, 0, 1, 2);               // 3 -> padded to 4
        s.step(s.prefill(3, 12));
        s.decodes(3, 0, 1, 2, 3);            // 4, no padding
        s.decodes(3, 0, 2, 3);               // sequence 1 finished
        s.step(s.decode(0), s.decode(2), s.decode(3), s.prefill(4, 7)); // mixed: eager
        s.decodes(3, 0, 2, 3, 4);
        s.step(s.prefill(5, 6), s.prefill(6, 2));
        s.decodes(4, 0, 2, 3, 4, 5, 6);      // 6 -> padded to 8
        s.decodes(3, 3);                     // 1
        s.decodes(3, 5, 0);                  // 2, another order
        return s;
    }

    /** A runner over the script's cache layout. */
    static ModelRunner runner(CausalLM model, DecodeGraphs.Mode mode) {
        boolean stateful = !model.context().stateLayers().isEmpty();
        return new ModelRunner(ModelRanks.of(model), MAX_SEQS * BLOCKS_PER_SEQ, BLOCK_SIZE, stateful ? MAX_SEQS : 0,
                MAX_SEQS, MAX_MODEL_LEN, mode);
    }

    private void decodes(int times, int... seqs) {
        for (int t = 0; t < times; t++) {
            ModelRunner.Chunk[] c = new ModelRunner.Chunk[seqs.length];
            for (int i = 0; i < seqs.length; i++) {
                c[i] = decode(seqs[i]);
            }
            step(c);
        }
    }

    private void step(ModelRunner.Chunk... chunks) {
        steps.add(List.of(chunks));
    }

    private ModelRunner.Chunk prefill(int seq, int n) {
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = 3 + random.nextInt(380);
        }
        length[seq] = n;
        return new ModelRunner.Chunk(tokens, 0, table(seq), stateful ? seq : -1, new int[] {n - 1});
    }

    private ModelRunner.Chunk decode(int seq) {
        int start = length[seq]++;
        return new ModelRunner.Chunk(new int[] {3 + random.nextInt(380)}, start, table(seq), stateful ? seq : -1,
                new int[] {0});
    }

    private static int[] table(int seq) {
        int[] t = new int[BLOCKS_PER_SEQ];
        for (int i = 0; i < t.length; i++) {
            t[i] = seq * BLOCKS_PER_SEQ + i;
        }
        return t;
    }

    /** Number of steps whose chunks are all decodes. */
    long decodeSteps() {
        return steps.stream().filter(DecodeGraphs::isDecode).count();
    }

    /** Runs every step on both runners and compares the logits of each. */
    void compare(ModelRunner expected, ModelRunner actual, Check check) {
        for (int i = 0; i < steps.size(); i++) {
            float[] e = logits(expected, steps.get(i));
            float[] a = logits(actual, steps.get(i));
            String name = "step " + i + " (" + steps.get(i).size() + " chunks"
                    + (DecodeGraphs.isDecode(steps.get(i)) ? ", decode" : "") + ")";
            assertEquals(e.length, a.length, name);
            check.compare(name, e, a);
        }
    }

    /**
     * Runs every step on both runners; at each decode step {@code actual}'s {@link ModelRunner#executeGreedy}
     * gives the argmax of {@code expected}'s logits (other steps run as usual on both).
     */
    void compareGreedy(ModelRunner expected, ModelRunner actual) {
        greedySteps(expected, actual, false);
    }

    /**
     * {@link #compareGreedy} as async scheduling chains steps: a decode step of the same sequences as
     * the decode step before it, each one position on, takes that step's tokens as its ids, on the
     * device for {@code actual} ({@link ModelRunner#executeGreedy} with the previous tokens tensor,
     * the chunks' own ids placeholders) and from the host for {@code expected}. Returns how many
     * steps ran chained.
     */
    int compareChainedGreedy(ModelRunner expected, ModelRunner actual) {
        return greedySteps(expected, actual, true);
    }

    /** {@link #compareGreedy}, chaining the steps that can be ({@code chainIds}); returns how many were. */
    private int greedySteps(ModelRunner expected, ModelRunner actual, boolean chainIds) {
        int chained = 0;
        Tensor prev = null;
        int[] prevIds = null;
        List<ModelRunner.Chunk> prevStep = null;
        try {
            for (int i = 0; i < steps.size(); i++) {
                List<ModelRunner.Chunk> step = steps.get(i);
                if (!DecodeGraphs.isDecode(step)) {
                    logits(expected, step);
                    logits(actual, step);
                    prevStep = null;
                    continue;
                }
                boolean chain = chainIds && prevStep != null && follows(prevStep, step);
                List<ModelRunner.Chunk> hostStep = chain ? withIds(step, prevIds) : step;
                int[] want;
                try (Tensor l = expected.execute(hostStep); Tensor ids = l.backend().allocate(DType.I32, l.dim(0))) {
                    l.backend().argmax(new Argmax(l, ids));
                    want = Tensors.toInts(ids);
                }
                Tensor got = actual.executeGreedy(chain ? withIds(step, new int[step.size()]) : step, chain ? prev : null);
                if (prev != null) {
                    prev.close();
                }
                prev = got;
                assertArrayEquals(want, Tensors.toInts(got), "step " + i + " (" + step.size() + " decodes"
                        + (chain ? ", ids from the step before" : "") + ")");
                chained += chain ? 1 : 0;
                prevIds = want;
                prevStep = step;
            }
        } finally {
            if (prev != null) {
                prev.close();
            }
        }
        return chained;
    }

    /** Whether {@code next} decodes the sequences of {@code prev}, in order, each one position on. */
    private static boolean follows(List<ModelRunner.Chunk> prev, List<ModelRunner.Chunk> next) {
        if (prev.size() != next.size()) {
            return false;
        }
        for (int i = 0; i < prev.size(); i++) {
            if (next.get(i).start() != prev.get(i).start() + 1
                    || !java.util.Arrays.equals(next.get(i).blockTable(), prev.get(i).blockTable())) {
                return false;
            }
        }
        return true;
    }

    private static List<ModelRunner.Chunk> withIds(List<ModelRunner.Chunk> step, int[] ids) {
        List<ModelRunner.Chunk> out = new ArrayList<>();
        for (int i = 0; i < step.size(); i++) {
            ModelRunner.Chunk c = step.get(i);
            out.add(new ModelRunner.Chunk(new int[] {ids[i]}, c.start(), c.blockTable(), c.stateSlot(), c.logitRows()));
        }
        return out;
    }

    private static float[] logits(ModelRunner r, List<ModelRunner.Chunk> step) {
        try (Tensor t = r.execute(step)) {
            return Tensors.toFloats(t);
        }
    }

    /** Logits within {@code tol} of each other, relative to the step's largest magnitude. */
    static Check close(float tol) {
        return (step, e, a) -> {
            float scale = 1e-6f;
            for (float v : e) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < e.length; i++) {
                if (!(Math.abs(e[i] - a[i]) <= tol * scale)) {
                    throw new AssertionError(step + ": logit " + i + " is " + a[i] + ", expected " + e[i]
                            + " (tolerance " + tol + " x " + scale + ")");
                }
            }
        };
    }

    /** Bit-identical logits. */
    static Check identical() {
        return (step, e, a) -> {
            for (int i = 0; i < e.length; i++) {
                if (Float.floatToRawIntBits(e[i]) != Float.floatToRawIntBits(a[i])) {
                    throw new AssertionError(step + ": logit " + i + " is " + a[i] + ", expected exactly " + e[i]);
                }
            }
        };
    }
}
