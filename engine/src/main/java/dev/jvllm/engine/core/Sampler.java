package dev.jvllm.engine.core;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.api.ops.Fill;
import dev.jvllm.api.ops.GatherRows;
import dev.jvllm.api.ops.Penalties;
import dev.jvllm.api.ops.Sample;
import dev.jvllm.api.ops.TopLogprobs;
import java.util.ArrayList;
import java.util.List;

/**
 * Picks one token per row of a batch of logits with each row's own {@link SamplingParams}, in vLLM
 * v1's order, entirely with the backend's ops (so a GPU backend keeps the logits on the device and
 * only the chosen ids and the requested logprobs come back):
 * <ol>
 *   <li>logprobs of the raw logits (vLLM's default {@code raw_logprobs}) for rows that ask: the
 *       rows are copied aside ({@link GatherRows}) before anything changes them;</li>
 *   <li>min_tokens: the row's stop token ids (EOS included) get −∞ ({@link Fill} on one element)
 *       while fewer than min_tokens tokens were generated;</li>
 *   <li>{@link Penalties} (repetition over prompt ∪ output, frequency and presence over the output),
 *       when any row has one;</li>
 *   <li>{@link Argmax} when every row is greedy, else {@link Sample} (temperature, min-p, top-k,
 *       top-p, then a draw from {@code SamplingRandom.uniform(seed, offset)} with the offset being
 *       the index of the token in the output) — so a seeded request draws the same tokens whatever
 *       else is in the batch, and again after a preemption;</li>
 *   <li>{@link TopLogprobs} of the raw rows, with the chosen tokens' own logprobs.</li>
 * </ol>
 * Not thread-safe (the engine thread owns it); stateless between calls.
 */
final class Sampler {

    /**
     * One row's inputs.
     *
     * @param params       the request's parameters
     * @param seed         the seed of the completion (the request's, derived for n > 1, or drawn)
     * @param outputIndex  index of the token being generated (0 = first), the random offset
     * @param maskedIds    token ids to forbid (min_tokens), possibly empty
     * @param numLogprobs  how many top logprobs to report, −1 for none
     * @param promptTokens the prompt (read only when the row has penalties)
     * @param outputTokens the tokens generated so far (read only when the row has penalties)
     */
    record Row(SamplingParams params, long seed, int outputIndex, int[] maskedIds, int numLogprobs,
            int[] promptTokens, int[] outputTokens) {
    }

    /** The logprobs of one row: the chosen token's and the top n, descending. */
    record RowLogprobs(int tokenId, float logprob, int rank, int[] topIds, float[] topLogprobs) {
    }

    /**
     * @param tokens    the chosen id per row
     * @param logprobs  per row, or null where the row asked for none
     */
    record Result(int[] tokens, RowLogprobs[] logprobs) {
    }

    /**
     * Samples every row. {@code logits} (F32 [S, V], one row per entry of {@code rows}) is modified
     * in place.
     */
    Result sample(Tensor logits, List<Row> rows) {
        checkRows(logits, rows);
        int s = rows.size();
        Backend b = logits.backend();
        int v = logits.cols();
        List<Integer> lpRows = new ArrayList<>();
        for (int r = 0; r < s; r++) {
            if (rows.get(r).numLogprobs() >= 0) {
                lpRows.add(r);
            }
        }
        Tensor raw = null;
        try {
            if (!lpRows.isEmpty()) {
                raw = b.allocate(DType.F32, lpRows.size(), v);
                try (Tensor idx = Tensors.fromInts(b, ints(lpRows), lpRows.size())) {
                    b.gatherRows(new GatherRows(logits, idx, raw));
                }
            }
            maskStopTokens(logits, rows);
            applyPenalties(logits, rows);
            int[] tokens = choose(logits, rows);
            RowLogprobs[] logprobs = new RowLogprobs[s];
            if (raw != null) {
                int n = 0;
                int[] chosen = new int[lpRows.size()];
                for (int i = 0; i < lpRows.size(); i++) {
                    n = Math.max(n, Math.min(v, rows.get(lpRows.get(i)).numLogprobs()));
                    chosen[i] = tokens[lpRows.get(i)];
                }
                RowLogprobs[] computed = logprobs(raw, n, chosen);
                for (int i = 0; i < lpRows.size(); i++) {
                    logprobs[lpRows.get(i)] = truncate(computed[i], rows.get(lpRows.get(i)).numLogprobs());
                }
            }
            return new Result(tokens, logprobs);
        } finally {
            if (raw != null) {
                raw.close();
            }
        }
    }

    /**
     * Log-softmax of each row of F32 logits [R, V]: the given token's logprob and rank, and the top
     * {@code n} (descending, ties → lower id), with the token's rank as vLLM counts it.
     */
    static RowLogprobs[] logprobs(Tensor logits, int n, int[] tokenIds) {
        Backend b = logits.backend();
        int rows = logits.dim(0);
        RowLogprobs[] out = new RowLogprobs[rows];
        if (rows == 0) {
            return out;
        }
        try (Tensor ids = b.allocate(DType.I32, rows, n);
             Tensor lps = b.allocate(DType.F32, rows, n);
             Tensor tok = Tensors.fromInts(b, tokenIds, rows);
             Tensor tokLp = b.allocate(DType.F32, rows)) {
            b.topLogprobs(new TopLogprobs(logits, n, ids, lps, tok, tokLp));
            int[] topIds = Tensors.toInts(ids);
            float[] topLps = Tensors.toFloats(lps);
            float[] chosenLp = Tensors.toFloats(tokLp);
            for (int r = 0; r < rows; r++) {
                int[] rIds = java.util.Arrays.copyOfRange(topIds, r * n, (r + 1) * n);
                float[] rLps = java.util.Arrays.copyOfRange(topLps, r * n, (r + 1) * n);
                out[r] = new RowLogprobs(tokenIds[r], chosenLp[r], rank(logits, r, tokenIds[r], rIds, rLps), rIds, rLps);
            }
        }
        return out;
    }

    /**
     * vLLM's rank: the number of tokens whose logprob is at least the token's (1 = most likely;
     * ties count against it). When the token is among the top ids and the list goes on below it,
     * every such token is in the list; otherwise the row is read back and logits are compared (the
     * same count up to ties that rounding creates between logprobs of different logits).
     */
    private static int rank(Tensor logits, int row, int token, int[] topIds, float[] topLogprobs) {
        int n = topIds.length;
        for (int j = 0; j < n; j++) {
            if (topIds[j] == token && topLogprobs[n - 1] < topLogprobs[j]) {
                int atLeast = 0;
                for (int k = 0; k < n; k++) {
                    if (topLogprobs[k] >= topLogprobs[j]) {
                        atLeast++;
                    }
                }
                return atLeast;
            }
        }
        float[] l = Tensors.toFloats(logits.slice(row, 1));
        int atLeast = 0;
        for (float x : l) {
            if (x >= l[token]) {
                atLeast++;
            }
        }
        return atLeast;
    }

    private static RowLogprobs truncate(RowLogprobs r, int n) {
        if (n >= r.topIds().length) {
            return r;
        }
        return new RowLogprobs(r.tokenId(), r.logprob(), r.rank(), java.util.Arrays.copyOf(r.topIds(), n),
                java.util.Arrays.copyOf(r.topLogprobs(), n));
    }

    /** min_tokens: −∞ on the row's stop ids (vLLM's MinTokensLogitsProcessor). */
    private static void maskStopTokens(Tensor logits, List<Row> rows) {
        Backend b = logits.backend();
        for (int r = 0; r < rows.size(); r++) {
            for (int id : rows.get(r).maskedIds()) {
                if (id >= 0 && id < logits.cols()) {
                    b.fill(new Fill(logits.slice(r, 1).narrowLast(id, 1), Double.NEGATIVE_INFINITY));
                }
            }
        }
    }

    private static void applyPenalties(Tensor logits, List<Row> rows) {
        int s = rows.size();
        int maxPrompt = 0;
        int maxOutput = 0;
        boolean any = false;
        for (Row row : rows) {
            if (row.params().hasPenalties()) {
                any = true;
                // repetition looks at the prompt; frequency and presence only at the output
                if (row.params().repetitionPenalty() != 1) {
                    maxPrompt = Math.max(maxPrompt, row.promptTokens().length);
                }
                maxOutput = Math.max(maxOutput, row.outputTokens().length);
            }
        }
        if (!any) {
            return;
        }
        int lp = Math.max(1, maxPrompt);
        int lo = Math.max(1, maxOutput);
        int[] prompt = new int[s * lp];
        int[] output = new int[s * lo];
        java.util.Arrays.fill(prompt, -1);
        java.util.Arrays.fill(output, -1);
        float[] rep = new float[s];
        float[] pres = new float[s];
        float[] freq = new float[s];
        for (int r = 0; r < s; r++) {
            Row row = rows.get(r);
            SamplingParams p = row.params();
            rep[r] = (float) p.repetitionPenalty();
            pres[r] = (float) p.presencePenalty();
            freq[r] = (float) p.frequencyPenalty();
            if (!p.hasPenalties()) {
                continue;
            }
            if (p.repetitionPenalty() != 1) {
                System.arraycopy(row.promptTokens(), 0, prompt, r * lp, row.promptTokens().length);
            }
            System.arraycopy(row.outputTokens(), 0, output, r * lo, row.outputTokens().length);
        }
        Backend b = logits.backend();
        try (Tensor pt = Tensors.fromInts(b, prompt, s, lp);
             Tensor ot = Tensors.fromInts(b, output, s, lo);
             Tensor rt = Tensors.fromFloats(b, DType.F32, rep, s);
             Tensor prt = Tensors.fromFloats(b, DType.F32, pres, s);
             Tensor ft = Tensors.fromFloats(b, DType.F32, freq, s)) {
            b.penalties(new Penalties(logits, pt, ot, rt, prt, ft));
        }
    }

    private static int[] choose(Tensor logits, List<Row> rows) {
        try (Tensor out = chooseOnDevice(logits, rows)) {
            return Tensors.toInts(out);
        }
    }

    /**
     * Whether {@link #tokensOnDevice} can pick this row's token: no logprobs, penalties or min_tokens
     * mask, which need the host (the read-back logprobs) or the tokens so far.
     */
    static boolean devicePicks(Row row) {
        return row.numLogprobs() < 0 && row.maskedIds().length == 0 && !row.params().hasPenalties();
    }

    /**
     * The rows' tokens as an I32 tensor [S] on the logits' backend, not read back (the caller closes
     * it): what {@link #sample} returns for rows that {@link #devicePicks}; {@code logits} is modified.
     */
    Tensor tokensOnDevice(Tensor logits, List<Row> rows) {
        checkRows(logits, rows);
        for (Row row : rows) {
            if (!devicePicks(row)) {
                throw new IllegalArgumentException("sampler: a row with logprobs, penalties or a min_tokens mask needs "
                        + "sample(), not tokensOnDevice()");
            }
        }
        return chooseOnDevice(logits, rows);
    }

    private static void checkRows(Tensor logits, List<Row> rows) {
        if (logits.dim(0) != rows.size()) {
            throw new IllegalArgumentException("sampler: " + rows.size() + " rows of parameters for logits "
                    + logits.describe());
        }
    }

    /** Whether every row picks its argmax (what {@link #tokensOnDevice} then does for rows that {@link #devicePicks}). */
    static boolean allGreedy(List<Row> rows) {
        for (Row row : rows) {
            if (!row.params().greedy()) {
                return false;
            }
        }
        return true;
    }

    /** The rows' argmax, I32 [rows] on the logits' backend, which the caller closes. */
    static Tensor argmax(Tensor logits) {
        Backend b = logits.backend();
        Tensor out = b.allocateUninitialized(DType.I32, logits.dim(0)); // argmax writes every row
        try {
            b.argmax(new Argmax(logits, out));
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    private static Tensor chooseOnDevice(Tensor logits, List<Row> rows) {
        if (allGreedy(rows)) {
            return argmax(logits);
        }
        int s = rows.size();
        Backend b = logits.backend();
        Tensor out = b.allocateUninitialized(DType.I32, s); // sample writes every row
        try {
            float[] temperature = new float[s];
            int[] topK = new int[s];
            float[] topP = new float[s];
            float[] minP = new float[s];
            long[] seeds = new long[s];
            long[] offsets = new long[s];
            for (int r = 0; r < s; r++) {
                Row row = rows.get(r);
                SamplingParams p = row.params();
                temperature[r] = p.greedy() ? 0f : (float) p.temperature();
                topK[r] = p.topK();
                topP[r] = (float) p.topP();
                minP[r] = (float) p.minP();
                seeds[r] = row.seed();
                offsets[r] = row.outputIndex();
            }
            try (Tensor t = Tensors.fromFloats(b, DType.F32, temperature, s);
                 Tensor k = Tensors.fromInts(b, topK, s);
                 Tensor tp = Tensors.fromFloats(b, DType.F32, topP, s);
                 Tensor mp = Tensors.fromFloats(b, DType.F32, minP, s);
                 Tensor sd = Tensors.fromLongs(b, seeds, s);
                 Tensor of = Tensors.fromLongs(b, offsets, s)) {
                b.sample(new Sample(logits, t, k, tp, mp, sd, of, out));
            }
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    private static int[] ints(List<Integer> l) {
        int[] a = new int[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }
}
