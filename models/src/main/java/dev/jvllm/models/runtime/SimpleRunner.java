package dev.jvllm.models.runtime;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.StateBatch;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.Attention;
import dev.jvllm.models.layers.ForwardContext;
import dev.jvllm.models.layers.KvCache;
import dev.jvllm.models.layers.ModelContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs one sequence at a time through a model with its own paged KV cache (blocks 0..n−1 in
 * order): prompt logits and greedy continuation. It is what {@code jvllm logits} and
 * {@code jvllm generate --prompt-token-ids} use until the engine's scheduler serves them, and what
 * the parity tests drive.
 */
public final class SimpleRunner implements AutoCloseable {
    /** Tokens per KV-cache block. */
    public static final int BLOCK_SIZE = 16;

    private final CausalLM model;
    private final Backend backend;
    private final int maxTokens;
    private final int numBlocks;
    private final Map<String, KvCache> caches = new LinkedHashMap<>();
    private final Map<String, List<Tensor>> states = new LinkedHashMap<>(); // one slot: the sequence
    private final List<Tensor> owned = new ArrayList<>();

    /** @param maxTokens the longest sequence (prompt + generated) this runner serves */
    public SimpleRunner(CausalLM model, int maxTokens) {
        this.model = model;
        ModelContext ctx = model.context();
        this.backend = ctx.backend();
        this.maxTokens = maxTokens;
        this.numBlocks = (maxTokens + BLOCK_SIZE - 1) / BLOCK_SIZE;
        for (Map.Entry<String, Object> e : ctx.attentionLayers().entrySet()) {
            Attention a = (Attention) e.getValue();
            Tensor k = own(backend.allocate(ctx.activationDType(), numBlocks, BLOCK_SIZE, a.numKvHeads(), a.headSize()));
            Tensor v = own(backend.allocate(ctx.activationDType(), numBlocks, BLOCK_SIZE, a.numKvHeads(), a.headSize()));
            caches.put(e.getKey(), new KvCache(k, v));
        }
        for (Map.Entry<String, List<ModelContext.StateSpec>> e : ctx.stateLayers().entrySet()) {
            List<Tensor> pools = new ArrayList<>();
            for (ModelContext.StateSpec spec : e.getValue()) {
                int[] shape = new int[spec.shape().length + 1];
                shape[0] = 1;
                System.arraycopy(spec.shape(), 0, shape, 1, spec.shape().length);
                pools.add(own(backend.allocate(spec.dtype(), shape)));
            }
            states.put(e.getKey(), pools);
        }
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /** Logits of every prompt position of a fresh sequence: F32 values, [prompt.length × vocab] row-major. */
    public float[] promptLogits(int[] prompt) {
        try (Tensor logits = step(prompt, 0, true)) {
            return Tensors.toFloats(logits);
        }
    }

    /** Picks the next token from the last position's logits. */
    @FunctionalInterface
    public interface TokenPicker {
        /**
         * @param logits F32 [1, vocab] on the model's backend
         * @param step   index of the token being generated (0 for the first)
         */
        int pick(Tensor logits, int step);
    }

    /** Greedy continuation of a fresh sequence: the {@code newTokens} generated ids. */
    public int[] greedy(int[] prompt, int newTokens) {
        return generate(prompt, newTokens, (logits, step) -> argmax(Tensors.toFloats(logits)));
    }

    /** Continuation of a fresh sequence, one token at a time, chosen by {@code picker}. */
    public int[] generate(int[] prompt, int newTokens, TokenPicker picker) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt must have at least one token");
        }
        int[] out = new int[newTokens];
        int[] next = prompt;
        int start = 0;
        for (int i = 0; i < newTokens; i++) {
            try (Tensor logits = step(next, start, false)) {
                out[i] = picker.pick(logits, i);
            }
            start += next.length;
            next = new int[] {out[i]};
        }
        return out;
    }

    /** Runs tokens [start, start+ids.length) of the sequence; logits of every row or of the last. */
    private Tensor step(int[] ids, int start, boolean allRows) {
        int n = ids.length;
        int seqLen = start + n;
        if (seqLen > maxTokens) {
            throw new IllegalArgumentException("sequence of " + seqLen + " tokens exceeds this runner's " + maxTokens);
        }
        int[] positions = new int[n];
        int[] slots = new int[n];
        for (int i = 0; i < n; i++) {
            positions[i] = start + i;
            slots[i] = start + i; // block b = slot / BLOCK_SIZE is block b of the table
        }
        int[] table = new int[numBlocks];
        for (int b = 0; b < numBlocks; b++) {
            table[b] = b;
        }
        try (Tensor idsT = Tensors.fromInts(backend, ids, n);
             Tensor pos = Tensors.fromInts(backend, positions, n);
             Tensor qsl = Tensors.fromInts(backend, new int[] {0, n}, 2);
             Tensor lens = Tensors.fromInts(backend, new int[] {seqLen}, 1);
             Tensor tables = Tensors.fromInts(backend, table, 1, numBlocks);
             Tensor slotT = Tensors.fromInts(backend, slots, n);
             Tensor stateIdx = Tensors.fromInts(backend, new int[] {0}, 1);
             Tensor hasState = Tensors.fromInts(backend, new int[] {start > 0 ? 1 : 0}, 1)) {
            StateBatch sb = new StateBatch(qsl, stateIdx, hasState); // a fresh sequence starts from zero state
            ForwardContext fc = new ForwardContext(pos, seqLen - 1, qsl, lens, tables, slotT, n, seqLen, caches, sb,
                    states);
            try (Tensor hidden = model.forward(idsT, fc)) {
                return model.computeLogits(allRows ? hidden : hidden.slice(n - 1, 1));
            }
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best] || (Float.isNaN(v[i]) && !Float.isNaN(v[best]))) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public void close() {
        for (Tensor t : owned) {
            t.close();
        }
        owned.clear();
    }
}
