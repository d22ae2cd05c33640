package dev.jvllm.cpu.ops;

import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.Penalties;
import dev.jvllm.cpu.CpuContext;
import dev.jvllm.cpu.Rows;
import java.util.Arrays;

/**
 * CPU reference for {@link Penalties}, in place on F32 logits [B, V], as vLLM's
 * {@code apply_penalties} writes it: every v of the row goes through the three steps, with
 * {@code r_v = (v in prompt ∪ output) ? repetition[b] : 1}:
 * <pre>
 *   l = l > 0 ? l / r_v : l · r_v
 *   l = l − frequency[b] · count_out(v)              (f32 product, then f32 difference)
 *   l = l − presence[b] · (count_out(v) > 0 ? 1 : 0)
 * </pre>
 * For tokens that occur nowhere the steps are the identity for finite penalties (up to the sign of
 * a zero), as in vLLM. Token lists are padded with −1, which is skipped; any other id outside
 * [0, V) is a caller error, reported before any logit changes.
 *
 * <p>One form only: the SIMD form runs this scalar code (the work is O(V + L log L) per row with
 * no reduction, and the sparse token bookkeeping does not vectorize). Rows run in parallel.
 */
public final class PenaltiesKernel {
    private PenaltiesKernel() {
    }

    /** Every shape the record allows (dtypes are fixed by the record). */
    public static boolean supports(Penalties a) {
        return true;
    }

    public static void run(Penalties a, CpuContext ctx) {
        Tensor logits = a.logits();
        int rows = logits.dim(0);
        int v = logits.cols();
        check("promptTokens", a.promptTokens(), v);
        check("outputTokens", a.outputTokens(), v);
        ctx.pool().forEach(rows, b -> {
            int[] prompt = sortedIds(a.promptTokens(), b);
            int[] output = sortedIds(a.outputTokens(), b);
            float rep = Rows.getFloat(a.repetition(), b);
            float freq = Rows.getFloat(a.frequency(), b);
            float pres = Rows.getFloat(a.presence(), b);
            float[] l = new float[v];
            Rows.load(logits, b, l, 0);
            int ip = 0;
            int io = 0;
            for (int t = 0; t < v; t++) {
                while (ip < prompt.length && prompt[ip] < t) {
                    ip++;
                }
                boolean inPrompt = ip < prompt.length && prompt[ip] == t;
                int count = 0;
                while (io < output.length && output[io] == t) {
                    count++;
                    io++;
                }
                float r = inPrompt || count > 0 ? rep : 1f;
                float x = l[t];
                x = x > 0 ? x / r : x * r;
                x = x - freq * count;
                x = x - pres * (count > 0 ? 1f : 0f);
                l[t] = x;
            }
            Rows.store(logits, b, l, 0);
        });
    }

    /** Row b's token ids without the −1 padding, ascending. */
    private static int[] sortedIds(Tensor tokens, int b) {
        int len = tokens.cols();
        int[] ids = new int[len];
        int k = 0;
        for (int j = 0; j < len; j++) {
            int id = Rows.getInt(tokens, (long) b * len + j);
            if (id >= 0) {
                ids[k++] = id;
            }
        }
        int[] out = Arrays.copyOf(ids, k);
        Arrays.sort(out);
        return out;
    }

    private static void check(String name, Tensor tokens, int v) {
        int rows = tokens.dim(0);
        int len = tokens.cols();
        for (int b = 0; b < rows; b++) {
            for (int j = 0; j < len; j++) {
                int id = Rows.getInt(tokens, (long) b * len + j);
                if (id < -1 || id >= v) {
                    throw new IllegalArgumentException("penalties: " + name + "[" + b + ", " + j + "] = " + id
                            + " is outside the vocabulary [0, " + v + "); pad with -1");
                }
            }
        }
    }
}
