package dev.jvllm.cuda;

import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.ActivationKind;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.api.ops.GatedActivation;
import dev.jvllm.api.ops.KvCacheWrite;
import dev.jvllm.api.ops.Linear;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.api.ops.OpArgs;
import dev.jvllm.api.ops.PagedAttention;
import dev.jvllm.api.ops.RmsNorm;
import dev.jvllm.api.ops.Rotary;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Times the CUDA kernels at the shapes of a Llama-3-8B layer in bf16 (hidden 4096, 32 query / 8 KV
 * heads of 128, MLP 14336, vocab 128256), with CUDA events around repeated calls on random data.
 * Per case: the median over 7 timed batches after warm-up, and what that is in GB/s (bytes each
 * input is read once and each output written once) and TFLOP/s, against the device's measured copy
 * bandwidth (printed first: a 1 GiB device-to-device copy).
 *
 * <p>Run on the GPU machine: {@code bash tools/gpu/run-tests.sh --main dev.jvllm.cuda.CudaOpsBench}.
 *
 * <p>{@code ... CudaOpsBench decode}: instead, the ops of one batch-1 decode step of Llama-3.2-1B
 * in bf16 (hidden 2048, 32/8 heads of 64, MLP 8192, 16 layers, vocab 32000, 192 tokens of context),
 * each timed back to back (so the GPU, not the host, sets the pace) with the host's enqueue time per
 * call beside it, and the step's totals: what a decode step costs the GPU and the host at best.
 */
public final class CudaOpsBench {
    private final CudaBackend cuda;
    private final List<Tensor> owned = new ArrayList<>();
    private final SplittableRandom random = new SplittableRandom(7);

    private CudaOpsBench(CudaBackend cuda) {
        this.cuda = cuda;
    }

    public static void main(String[] args) {
        try (CudaBackend cuda = (CudaBackend) new CudaProvider().create(BackendOptions.defaults())) {
            System.out.println("device: " + cuda.description());
            if (args.length > 0 && args[0].equals("decode")) {
                new CudaOpsBench(cuda).decodeStep();
            } else {
                new CudaOpsBench(cuda).run();
            }
            System.out.println("memory: " + cuda.memoryStats());
        }
    }

    private Tensor rand(DType t, double lo, double hi, int... shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + (hi - lo) * random.nextDouble());
        }
        Tensor x = Tensors.fromFloats(cuda, t, v, shape);
        owned.add(x);
        return x;
    }

    private Tensor ints(int[] v, int... shape) {
        Tensor x = Tensors.fromInts(cuda, v, shape);
        owned.add(x);
        return x;
    }

    private Tensor zeros(DType t, int... shape) {
        Tensor x = cuda.allocate(t, shape);
        owned.add(x);
        return x;
    }

    /** Host microseconds per call of the last {@link #time}: enqueueing only, median over its batches. */
    private double lastHostMicros;

    /** Milliseconds per call: median over 7 batches of calls timed with events. */
    private double time(OpArgs op) {
        Gpu gpu = cuda.gpu();
        for (int i = 0; i < 3; i++) {
            cuda.run(op);
        }
        cuda.synchronize();
        MemorySegment start = Driver.eventCreate(0), end = Driver.eventCreate(0);
        Driver.eventRecord(start, gpu.stream());
        cuda.run(op);
        Driver.eventRecord(end, gpu.stream());
        Driver.eventSynchronize(end);
        double one = Driver.eventElapsedMillis(start, end);
        int reps = (int) Math.max(3, Math.min(200, 20 / Math.max(one, 1e-3)));
        double[] batches = new double[7];
        double[] host = new double[batches.length];
        for (int b = 0; b < batches.length; b++) {
            Driver.eventRecord(start, gpu.stream());
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                cuda.run(op);
            }
            host[b] = (System.nanoTime() - t0) / 1e3 / reps;
            Driver.eventRecord(end, gpu.stream());
            Driver.eventSynchronize(end);
            batches[b] = Driver.eventElapsedMillis(start, end) / reps;
        }
        Arrays.sort(host);
        lastHostMicros = host[host.length / 2];
        cuda.synchronize();
        Driver.eventDestroy(start);
        Driver.eventDestroy(end);
        Arrays.sort(batches);
        return batches[batches.length / 2];
    }

    private void report(String name, OpArgs op, double bytes, double flops) {
        double ms = time(op);
        System.out.printf(Locale.ROOT, "| %-52s | %9.1f | %8.0f | %7.1f |%n", name, ms * 1e3, bytes / ms / 1e6,
                flops / ms / 1e9);
        owned.forEach(Tensor::close);
        owned.clear();
    }

    private void copyBandwidth() {
        int n = 1 << 29; // 1 GiB of bf16
        Tensor a = cuda.allocate(DType.BF16, n), b = cuda.allocate(DType.BF16, n);
        owned.add(a);
        owned.add(b);
        report("device-to-device copy, 1 GiB", new dev.jvllm.api.ops.Copy(a, b), 2.0 * n * 2, 0);
    }

    private void run() {
        final int h = 4096, heads = 32, kv = 8, hd = 128, mlp = 14336, vocab = 128256;
        System.out.println("| case | µs | GB/s | TFLOP/s |");
        System.out.println("|---|---|---|---|");
        copyBandwidth();
        for (int t : new int[] {32, 4096}) {
            report("rms_norm + residual, T=" + t + ", H=4096",
                    new RmsNorm(rand(DType.BF16, -2, 2, t, h), rand(DType.BF16, 0.5, 1.5, h), rand(DType.BF16, -2, 2, t, h),
                            zeros(DType.BF16, t, h), zeros(DType.BF16, t, h), 1e-5f, false),
                    4.0 * t * h * 2, 0);
        }
        for (int t : new int[] {1, 32, 4096}) {
            report("linear bf16, T=" + t + ", K=4096, N=14336",
                    new Linear(rand(DType.BF16, -1, 1, t, h), new LinearWeight.Dense(rand(DType.BF16, -0.05, 0.05, mlp, h)),
                            null, zeros(DType.BF16, t, mlp)),
                    2.0 * ((double) mlp * h + (double) t * h + (double) t * mlp), 2.0 * t * h * mlp);
        }
        report("silu_and_mul, T=4096, N=14336",
                new GatedActivation(ActivationKind.SILU, rand(DType.BF16, -3, 3, 4096, 2 * mlp), zeros(DType.BF16, 4096, mlp)),
                2.0 * 4096 * 3 * mlp, 0);
        rotaryCase(4096, heads, kv, hd);
        kvWriteCase(4096, kv, hd);
        attentionCase("paged_attention decode, 32 seqs x 2048 ctx", 32, 1, 2048, heads, kv, hd);
        attentionCase("paged_attention decode, 8 seqs x 32768 ctx", 8, 1, 32768, heads, kv, hd);
        attentionCase("paged_attention prefill, 1 seq x 2048", 1, 2048, 2048, heads, kv, hd);
        report("argmax, 32 x 128256 (f32)", new Argmax(rand(DType.F32, -10, 10, 32, vocab), zeros(DType.I32, 32)),
                32.0 * vocab * 4, 0);
    }

    private void rotaryCase(int t, int heads, int kv, int hd) {
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = i;
        }
        Tensor qkv = rand(DType.BF16, -2, 2, t, (heads + 2 * kv) * hd);
        report("rotary neox, T=" + t + ", 32+8 heads x 128 (fused qkv)",
                new Rotary(ints(pos, t), qkv.narrowLast(0, heads * hd), qkv.narrowLast(heads * hd, kv * hd),
                        rand(DType.F32, -1, 1, t, hd), hd, hd, true),
                2.0 * t * (heads + kv) * hd * 2, 0);
    }

    private void kvWriteCase(int t, int kv, int hd) {
        int blocks = t / 16 + 8;
        int[] slots = new int[t];
        for (int i = 0; i < t; i++) {
            slots[i] = i;
        }
        report("kv_cache_write, T=" + t + ", 8 x 128, block 16",
                new KvCacheWrite(rand(DType.BF16, -1, 1, t, kv * hd), rand(DType.BF16, -1, 1, t, kv * hd),
                        zeros(DType.BF16, blocks, 16, kv, hd), zeros(DType.BF16, blocks, 16, kv, hd), ints(slots, t)),
                2.0 * t * kv * hd * 2 * 2, 0);
    }

    /** seqs sequences of qLen new tokens ending at context ctx, block size 16, blocks shuffled. */
    private void attentionCase(String name, int seqs, int qLen, int ctx, int heads, int kv, int hd) {
        int bs = 16, per = (ctx + bs - 1) / bs, blocks = seqs * per;
        int[] order = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            order[i] = i;
        }
        for (int i = blocks - 1; i > 0; i--) {
            int j = random.nextInt(i + 1), tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        int[] qStart = new int[seqs + 1], lens = new int[seqs];
        for (int s = 0; s < seqs; s++) {
            qStart[s + 1] = qStart[s] + qLen;
            lens[s] = ctx;
        }
        int tokens = seqs * qLen;
        Tensor k = rand(DType.BF16, -1, 1, blocks, bs, kv, hd), v = rand(DType.BF16, -1, 1, blocks, bs, kv, hd);
        double pairs = 0;
        for (int i = 0; i < qLen; i++) {
            pairs += ctx - qLen + i + 1;
        }
        pairs *= seqs;
        report(name + ", 32/8 heads x 128",
                new PagedAttention(rand(DType.BF16, -1, 1, tokens, heads * hd), k, v, zeros(DType.BF16, tokens, heads * hd),
                        ints(qStart, seqs + 1), ints(lens, seqs), ints(order, seqs, per), heads, kv, hd,
                        (float) (1 / Math.sqrt(hd)), 0, 0f, qLen, ctx),
                2.0 * seqs * ctx * kv * hd * 2 + 2.0 * tokens * heads * hd * 2, 4.0 * pairs * heads * hd);
    }

    /** One op of the decode step: its name, how many times a step runs it, and the call. */
    private record StepOp(String name, int perStep, OpArgs op) {
    }

    private void decodeStep() {
        final int h = 2048, heads = 32, kv = 8, hd = 64, mlp = 8192, vocab = 32000, layers = 16, ctx = 192;
        int bs = 16, blocks = (ctx + bs - 1) / bs;
        int[] table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = i;
        }
        Tensor x = rand(DType.BF16, -2, 2, 1, h);
        Tensor qkv = rand(DType.BF16, -1, 1, 1, (heads + 2 * kv) * hd);
        Tensor gu = rand(DType.BF16, -3, 3, 1, 2 * mlp);
        Tensor act = zeros(DType.BF16, 1, mlp);
        Tensor logits = zeros(DType.F32, 1, vocab);
        Tensor kCache = rand(DType.BF16, -1, 1, blocks, bs, kv, hd), vCache = rand(DType.BF16, -1, 1, blocks, bs, kv, hd);
        Tensor embed = rand(DType.BF16, -0.05, 0.05, vocab, h);
        List<StepOp> ops = List.of(
                new StepOp("rms_norm + residual [1, 2048]", 2 * layers + 1, new RmsNorm(x, rand(DType.BF16, 0.5, 1.5, h),
                        rand(DType.BF16, -2, 2, 1, h), zeros(DType.BF16, 1, h), zeros(DType.BF16, 1, h), 1e-5f, false)),
                new StepOp("linear q_proj 2048 -> 2048", layers, linear(x, h, h)),
                new StepOp("linear k_proj / v_proj 2048 -> 512", 2 * layers, linear(x, kv * hd, h)),
                new StepOp("linear o_proj 2048 -> 2048", layers, linear(x, h, h)),
                new StepOp("linear gate_proj / up_proj 2048 -> 8192", 2 * layers, linear(x, mlp, h)),
                new StepOp("linear down_proj 8192 -> 2048", layers, linear(act, h, mlp)),
                new StepOp("linear fused qkv 2048 -> 3072 (not used yet)", 0, linear(x, (heads + 2 * kv) * hd, h)),
                new StepOp("linear fused gate_up 2048 -> 16384 (not used yet)", 0, linear(x, 2 * mlp, h)),
                new StepOp("rotary [1, 32+8 heads x 64]", layers, new Rotary(ints(new int[] {ctx - 1}, 1),
                        qkv.narrowLast(0, heads * hd), qkv.narrowLast(heads * hd, kv * hd),
                        rand(DType.F32, -1, 1, ctx, hd), hd, hd, true)),
                new StepOp("kv_cache_write [1, 8 x 64]", layers, new KvCacheWrite(qkv.narrowLast(heads * hd, kv * hd),
                        qkv.narrowLast((heads + kv) * hd, kv * hd), kCache, vCache, ints(new int[] {ctx - 1}, 1))),
                new StepOp("paged_attention decode, 192 ctx", layers, new PagedAttention(qkv.narrowLast(0, heads * hd),
                        kCache, vCache, zeros(DType.BF16, 1, heads * hd), ints(new int[] {0, 1}, 2),
                        ints(new int[] {ctx}, 1), ints(table, 1, blocks), heads, kv, hd, (float) (1 / Math.sqrt(hd)), 0,
                        0f, 1, ctx)),
                decodeAttention("paged_attention decode, 2048 ctx (compare)", 1, 2048, heads, kv, hd),
                decodeAttention("paged_attention decode, 64 seqs x 192 ctx (compare)", 64, ctx, heads, kv, hd),
                new StepOp("silu_and_mul [1, 8192]", layers, new GatedActivation(ActivationKind.SILU, gu, act)),
                new StepOp("embedding [1, 2048]", 1, new dev.jvllm.api.ops.Embedding(ints(new int[] {5}, 1), embed, 0,
                        zeros(DType.BF16, 1, h))),
                new StepOp("lm_head 2048 -> 32000, F32 out", 1, new Linear(x, new LinearWeight.Dense(embed), null,
                        logits)),
                new StepOp("lm_head 2048 -> 32000, BF16 out (compare)", 0, new Linear(x, new LinearWeight.Dense(embed),
                        null, zeros(DType.BF16, 1, vocab))),
                new StepOp("argmax [1, 32000] f32", 1, new Argmax(logits, zeros(DType.I32, 1))));
        System.out.println("| op (Llama-3.2-1B, batch-1 decode, bf16) | per step | GPU µs/call | host µs/call | GPU µs/step"
                + " | host µs/step |");
        System.out.println("|---|---|---|---|---|---|");
        double gpuStep = 0, hostStep = 0;
        int launches = 0;
        for (StepOp o : ops) {
            double us = time(o.op()) * 1e3;
            gpuStep += us * o.perStep();
            hostStep += lastHostMicros * o.perStep();
            launches += o.perStep();
            System.out.printf(Locale.ROOT, "| %-50s | %d | %8.1f | %8.1f | %8.1f | %8.1f |%n", o.name(), o.perStep(), us,
                    lastHostMicros, us * o.perStep(), lastHostMicros * o.perStep());
        }
        System.out.printf(Locale.ROOT, "| step total (%d ops; excludes allocations, uploads, the argmax read) | | | | %.1f"
                + " | %.1f |%n", launches, gpuStep, hostStep);
        owned.forEach(Tensor::close);
        owned.clear();
    }

    /** A decode of {@code seqs} sequences of {@code ctx} tokens each (own blocks), not part of the step's totals. */
    private StepOp decodeAttention(String name, int seqs, int ctx, int heads, int kv, int hd) {
        int bs = 16, per = (ctx + bs - 1) / bs;
        int[] table = new int[seqs * per], starts = new int[seqs + 1], lens = new int[seqs];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        for (int s = 0; s < seqs; s++) {
            starts[s + 1] = s + 1;
            lens[s] = ctx;
        }
        Tensor q = rand(DType.BF16, -1, 1, seqs, heads * hd);
        return new StepOp(name, 0, new PagedAttention(q, rand(DType.BF16, -1, 1, seqs * per, bs, kv, hd),
                rand(DType.BF16, -1, 1, seqs * per, bs, kv, hd), zeros(DType.BF16, seqs, heads * hd),
                ints(starts, seqs + 1), ints(lens, seqs), ints(table, seqs, per), heads, kv, hd,
                (float) (1 / Math.sqrt(hd)), 0, 0f, 1, ctx));
    }

    private Linear linear(Tensor x, int n, int k) {
        return new Linear(x, new LinearWeight.Dense(rand(DType.BF16, -0.05, 0.05, n, k)), null, zeros(DType.BF16, 1, n));
    }
}
