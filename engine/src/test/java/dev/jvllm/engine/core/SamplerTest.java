package dev.jvllm.engine.core;

import static org.junit.jupiter.api.Assertions.*;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SamplerTest {
    static final Backend CPU = dev.jvllm.cpu.CpuBackend.create();
    static final int V = 50;

    static float[] randomLogits(Random r, int rows) {
        float[] l = new float[rows * V];
        for (int i = 0; i < l.length; i++) {
            l[i] = (float) (r.nextGaussian() * 2);
        }
        return l;
    }

    static Sampler.Row row(SamplingParams p, long seed, int outputIndex) {
        return new Sampler.Row(p, seed, outputIndex, new int[0], -1, new int[0], new int[0]);
    }

    static Sampler.Result sample(float[] logits, List<Sampler.Row> rows) {
        try (Tensor t = Tensors.fromFloats(CPU, DType.F32, logits, rows.size(), V)) {
            return new Sampler().sample(t, rows);
        }
    }

    static int argmax(float[] l, int row) {
        int best = 0;
        for (int v = 1; v < V; v++) {
            if (l[row * V + v] > l[row * V + best]) {
                best = v;
            }
        }
        return best;
    }

    @Test
    void greedyRowsPickTheArgmax() {
        float[] l = randomLogits(new Random(3), 4);
        List<Sampler.Row> rows = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            rows.add(row(SamplingParams.greedy(5), 0, 0));
        }
        int[] got = sample(l, rows).tokens();
        for (int i = 0; i < 4; i++) {
            assertEquals(argmax(l, i), got[i]);
        }
    }

    @Test
    void aSeededRowDrawsTheSameTokenWhateverElseIsInTheBatch() {
        SamplingParams hot = SamplingParams.builder().temperature(1.5).build();
        qt().withExamples(40).forAll(integers().between(1, 6), integers().between(0, 1000), integers().between(0, 9))
                .checkAssert((size, seed, offset) -> {
                    Random r = new Random(seed);
                    float[] mine = randomLogits(r, 1);
                    int alone = sample(mine, List.of(row(hot, seed, offset))).tokens()[0];
                    // the same row at a random place among other rows with other parameters
                    float[] batch = randomLogits(r, size + 1);
                    int at = r.nextInt(size + 1);
                    System.arraycopy(mine, 0, batch, at * V, V);
                    List<Sampler.Row> rows = new ArrayList<>();
                    for (int i = 0; i <= size; i++) {
                        rows.add(i == at ? row(hot, seed, offset)
                                : row(SamplingParams.builder().temperature(0.5 + r.nextDouble()).topK(r.nextInt(5))
                                        .build(), r.nextLong(), r.nextInt(9)));
                    }
                    assertEquals(alone, sample(batch, rows).tokens()[at]);
                });
    }

    @Test
    void differentSeedsOrOffsetsDrawDifferentTokens() {
        float[] flat = new float[V]; // uniform: every draw is as likely
        SamplingParams p = SamplingParams.builder().temperature(1.0).build();
        List<Integer> bySeed = new ArrayList<>();
        List<Integer> byOffset = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            bySeed.add(sample(flat, List.of(row(p, i, 0))).tokens()[0]);
            byOffset.add(sample(flat, List.of(row(p, 7, i))).tokens()[0]);
        }
        assertTrue(new java.util.HashSet<>(bySeed).size() > 5, "seeds " + bySeed);
        assertTrue(new java.util.HashSet<>(byOffset).size() > 5, "offsets " + byOffset);
    }

    @Test
    void minTokensMasksTheStopIds() {
        float[] l = randomLogits(new Random(5), 1);
        int top = argmax(l, 0);
        Sampler.Row masked = new Sampler.Row(SamplingParams.greedy(5), 0, 0, new int[] {top}, -1, new int[0], new int[0]);
        int got = sample(l, List.of(masked)).tokens()[0];
        l[top] = Float.NEGATIVE_INFINITY;
        assertEquals(argmax(l, 0), got);
    }

    @Test
    void penaltiesFollowVllmsFormulas() {
        Random r = new Random(9);
        float[] l = randomLogits(r, 1);
        int[] prompt = {1, 2, 3};
        int[] output = {4, 4, 5, argmax(l, 0)};
        SamplingParams p = SamplingParams.builder().temperature(0).repetitionPenalty(1.7).frequencyPenalty(0.9)
                .presencePenalty(1.3).build();
        int got = sample(l.clone(), List.of(new Sampler.Row(p, 0, 4, new int[0], -1, prompt, output))).tokens()[0];
        float[] want = l.clone();
        for (int v = 0; v < V; v++) {
            int count = 0;
            for (int t : output) {
                count += t == v ? 1 : 0;
            }
            boolean seen = count > 0 || v == 1 || v == 2 || v == 3;
            float x = want[v];
            if (seen) {
                x = x > 0 ? x / 1.7f : x * 1.7f;
            }
            x -= 0.9f * count;
            x -= count > 0 ? 1.3f : 0f;
            want[v] = x;
        }
        assertEquals(argmax(want, 0), got);
        assertNotEquals(argmax(l, 0), got, "the penalties moved the argmax away from the repeated token");
    }

    @Test
    void logprobsAreTheRawLogSoftmaxWithTopNAndRank() {
        Random r = new Random(11);
        float[] l = randomLogits(r, 2);
        SamplingParams hot = SamplingParams.builder().temperature(1.0).repetitionPenalty(1.5).build();
        List<Sampler.Row> rows = List.of(new Sampler.Row(hot, 3, 0, new int[0], 4, new int[] {0}, new int[0]),
                new Sampler.Row(SamplingParams.greedy(4), 0, 0, new int[0], -1, new int[0], new int[0]));
        Sampler.Result res = sample(l, rows);
        assertNull(res.logprobs()[1]);
        Sampler.RowLogprobs lp = res.logprobs()[0];
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < V; v++) {
            max = Math.max(max, l[v]);
        }
        double sum = 0;
        for (int v = 0; v < V; v++) {
            sum += Math.exp(l[v] - max);
        }
        double lse = max + Math.log(sum);
        assertEquals(res.tokens()[0], lp.tokenId());
        assertEquals(l[lp.tokenId()] - lse, lp.logprob(), 1e-5);
        List<Integer> order = new ArrayList<>();
        for (int v = 0; v < V; v++) {
            order.add(v);
        }
        order.sort((a, b) -> Float.compare(l[b], l[a]));
        assertEquals(4, lp.topIds().length);
        for (int j = 0; j < 4; j++) {
            assertEquals(order.get(j), lp.topIds()[j]);
            assertEquals(l[order.get(j)] - lse, lp.topLogprobs()[j], 1e-5);
        }
        assertEquals(order.indexOf(lp.tokenId()) + 1, lp.rank());
    }

    @Test
    void theRankOfATokenOutsideTheTopListIsCountedOverTheRow() {
        float[] l = new float[V];
        for (int v = 0; v < V; v++) {
            l[v] = v; // token v has rank V - v
        }
        try (Tensor t = Tensors.fromFloats(CPU, DType.F32, l, 1, V)) {
            Sampler.RowLogprobs lp = Sampler.logprobs(t, 2, new int[] {10})[0];
            assertEquals(V - 10, lp.rank());
            assertArrayEquals(new int[] {V - 1, V - 2}, lp.topIds());
            Sampler.RowLogprobs inList = Sampler.logprobs(t, 3, new int[] {V - 2})[0];
            assertEquals(2, inList.rank());
        }
        float[] ties = new float[V];
        try (Tensor t = Tensors.fromFloats(CPU, DType.F32, ties, 1, V)) {
            assertEquals(V, Sampler.logprobs(t, 3, new int[] {0})[0].rank(), "ties count against the token, as vLLM");
        }
    }
}
