package dev.jvllm.bench;

import static dev.jvllm.bench.ChildRuns.d;
import static dev.jvllm.bench.ChildRuns.median;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.model.functions.Generator;
import com.github.tjake.jlama.safetensors.prompt.PromptContext;
import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.Tensors;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.engine.tokenizer.Tokenizer;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.loader.Checkpoint;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;

import java.io.IOException;

import java.lang.management.ManagementFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * jvllm against Jlama on the CPU, end to end at batch 1: the same checkpoint directory, the same
 * prompt text (tokenized by each engine, checked to give the same ids), greedy decoding, the same
 * thread count. Reports prefill tokens/s, decode tokens/s and time per output token per side, the
 * ratios, and each figure as a fraction of the machine's limits probed right before and after it.
 *
 * <p>Each measurement runs in a fresh JVM (one side per process: no shared JIT, heap, thread pools
 * or Vector API settings — Jlama switches off the Vector API's bounds checks JVM-wide) that loads the
 * model, runs one warm-up generation, probes the limits, runs the measured generation and probes
 * again. The sides alternate (A B C A B C ...) so that a change in the machine's load hits them alike.
 *
 * <pre>
 * CompareJlama --model DIR [--threads N] [--rounds R] [--sides jvllm,jlama,jlama-java]
 *              [--prompt-tokens 128] [--new-tokens 64]
 * </pre>
 * Sides: {@code jvllm} (CPU backend, f32 activations, weights as stored), {@code jlama} (Jlama with its
 * native library: {@code ModelSupport.loadModel(dir, workDir, F32, I8, empty, threads)}),
 * {@code jlama-java} (the same with {@code -Djlama.force_panama_tensor_operations=true}: its pure-Java path).
 */
public final class CompareJlama {
    /** Words the prompt is made of (lower case: the random checkpoint's tokenizer merges letters). */
    private static final String[] WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards quietly "
            + "boxed jam and vexing liquor for my sphinx of black quartz judge the vow").split(" ");

    private CompareJlama() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        if (a.containsKey("child")) {
            child(a);
        } else {
            orchestrate(a);
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + Arrays.toString(args));
            }
            m.put(args[i].substring(2), args[++i]);
        }
        if (!m.containsKey("model")) {
            throw new IllegalArgumentException("--model DIR is required (a checkpoint with config.json, *.safetensors"
                    + " and tokenizer.json; see jvllm save-random)");
        }
        return m;
    }

    // ---------------------------------------------------------------- orchestrator

    private static void orchestrate(Map<String, String> a) throws Exception {
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "3"));
        List<String> sides = List.of(a.getOrDefault("sides", "jvllm,jlama,jlama-java").split(","));
        String threads = a.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors()));
        System.out.printf("model %s, %s threads, %s prompt tokens, %s new tokens, %d rounds, sides %s%n",
                a.get("model"), threads, a.getOrDefault("prompt-tokens", "128"), a.getOrDefault("new-tokens", "64"),
                rounds, sides);
        Map<String, List<Map<String, String>>> results = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (String side : sides) {
                Map<String, String> res = runChild(side, a, threads);
                results.computeIfAbsent(side, k -> new ArrayList<>()).add(res);
                System.out.printf(Locale.ROOT, "round %d %-10s prefill %7.1f tok/s  decode %6.2f tok/s (%6.1f ms/token)"
                        + "  %5.1f%% of %.1f GB/s | CPU-time based: prefill %7.1f, decode %6.2f tok/s | load %s%n",
                        r + 1, side, d(res, "prefill_tps"), d(res, "decode_tps"), d(res, "ms_per_token"),
                        100 * d(res, "bw_fraction"), d(res, "bw"), d(res, "cpu_prefill_tps"), d(res, "cpu_decode_tps"),
                        res.get("load"));
            }
        }
        summarize(results, sides);
    }

    private static Map<String, String> runChild(String side, Map<String, String> a, String threads) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!arg.startsWith("-Djlama.force_panama")) {
                cmd.add(arg);
            }
        }
        if (side.equals("jlama-java")) {
            cmd.add("-Djlama.force_panama_tensor_operations=true");
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CompareJlama.class.getName(), "--child", side,
                "--threads", threads));
        for (String k : List.of("model", "prompt-tokens", "new-tokens")) {
            if (a.containsKey(k)) {
                cmd.addAll(List.of("--" + k, a.get(k)));
            }
        }
        return ChildRuns.run(cmd, side, line -> {
            if (line.startsWith("NOTE")) {
                System.out.println("  " + side + ": " + line);
            }
        });
    }

    private static void summarize(Map<String, List<Map<String, String>>> results, List<String> sides) {
        System.out.println();
        System.out.println("median over rounds        prefill tok/s  (% FMA peak)   decode tok/s  ms/token"
                + "  (% read bandwidth)");
        for (String side : sides) {
            List<Map<String, String>> rs = results.get(side);
            System.out.printf(Locale.ROOT, "%-24s %12.1f  (%5.1f%%)      %10.2f  %8.1f  (%5.1f%%)%n", side,
                    median(rs, "prefill_tps"), 100 * median(rs, "prefill_fma_fraction"), median(rs, "decode_tps"),
                    median(rs, "ms_per_token"), 100 * median(rs, "bw_fraction"));
        }
        System.out.println("CPU-time based (process CPU seconds / threads: what an idle machine would take, roughly)");
        for (String side : sides) {
            List<Map<String, String>> rs = results.get(side);
            System.out.printf(Locale.ROOT, "%-24s %12.1f                 %10.2f  %8.1f%n", side,
                    median(rs, "cpu_prefill_tps"), median(rs, "cpu_decode_tps"), median(rs, "cpu_ms_per_token"));
        }
        if (results.containsKey("jvllm")) {
            for (String peer : sides) {
                if (peer.equals("jvllm")) {
                    continue;
                }
                List<Map<String, String>> us = results.get("jvllm"), them = results.get(peer);
                System.out.printf(Locale.ROOT, "jvllm / %-10s  prefill %.2fx  decode %.2fx   (CPU-time based: prefill %.2fx,"
                        + " decode %.2fx)%n", peer, median(us, "prefill_tps") / median(them, "prefill_tps"),
                        median(us, "decode_tps") / median(them, "decode_tps"),
                        median(us, "cpu_prefill_tps") / median(them, "cpu_prefill_tps"),
                        median(us, "cpu_decode_tps") / median(them, "cpu_decode_tps"));
            }
        }
        Map<String, String> any = results.values().iterator().next().getFirst();
        System.out.printf(Locale.ROOT, "weights read per decoded token: %.3f GB; prefill work: %.1f GFLOP%n",
                d(any, "bytes_per_token") / 1e9, d(any, "prefill_gflop"));
    }

    // ---------------------------------------------------------------- one side, in its own JVM

    /**
     * What one measured generation took: wall seconds, and the process's CPU seconds (all threads)
     * over the same spans, which a loaded machine stretches far less than wall time.
     */
    record Timing(int promptTokens, double prefillSeconds, int decodeSteps, double decodeSeconds,
            double prefillCpuSeconds, double decodeCpuSeconds, String finish) {
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    /** CPU nanoseconds of this process so far (every thread: the engine's workers and the caller). */
    static long cpuNanos() {
        return OS.getProcessCpuTime();
    }

    private static void child(Map<String, String> a) throws Exception {
        String side = a.get("child");
        Path dir = Path.of(a.get("model"));
        int threads = Integer.parseInt(a.get("threads"));
        int promptTokens = Integer.parseInt(a.getOrDefault("prompt-tokens", "128"));
        int newTokens = Integer.parseInt(a.getOrDefault("new-tokens", "64"));
        Tokenizer tokenizer = Tokenizer.load(dir);
        String prompt = promptOf(tokenizer, promptTokens);
        ModelConfig config = ModelConfig.load(dir);
        Timing t;
        MachineLimits.Limits before, after;
        switch (side) {
            case "jvllm" -> {
                try (Backend b = CpuBackend.create(BackendOptions.defaults().withThreads(threads));
                     CausalLM m = ModelLoader.load(dir, b, ParallelConfig.single(), dev.jvllm.api.DType.F32, null);
                     SimpleRunner runner = new SimpleRunner(m, promptTokens + newTokens + 16)) {
                    jvllmGenerate(runner, tokenizer, prompt, newTokens); // warm-up: JIT
                    before = MachineLimits.probe(threads);
                    t = jvllmGenerate(runner, tokenizer, prompt, newTokens);
                    after = MachineLimits.probe(threads);
                }
            }
            case "jlama", "jlama-java" -> {
                Path work = Files.createTempDirectory("jlama-work");
                // loading first: Jlama picks its kernels (and sets its Vector API options) as it would alone
                AbstractModel m = ModelSupport.loadModel(dir.toFile(), work.toFile(),
                        com.github.tjake.jlama.safetensors.DType.F32, com.github.tjake.jlama.safetensors.DType.I8,
                        Optional.empty(), Optional.of(threads));
                System.out.println("NOTE kernels: " + com.github.tjake.jlama.tensor.operations.TensorOperationsProvider
                        .get().name());
                int[] ours = tokenizer.encode(prompt, true);
                int[] theirs = m.encodePrompt(PromptContext.of(prompt));
                if (!Arrays.equals(ours, theirs)) {
                    System.out.println("NOTE tokenizers differ on the prompt: jvllm " + ours.length + " ids, Jlama "
                            + theirs.length + " ids");
                }
                jlamaGenerate(m, prompt, theirs.length, newTokens);
                before = MachineLimits.probe(threads);
                t = jlamaGenerate(m, prompt, theirs.length, newTokens);
                after = MachineLimits.probe(threads);
                m.close();
                try (var files = Files.walk(work)) { // Jlama's KV-cache pages
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
            default -> throw new IllegalArgumentException("unknown side " + side + "; sides: jvllm, jlama, jlama-java");
        }
        MachineLimits.Limits limits = before.mean(after);
        double[] weights = decodeWeights(dir, config);
        double bytesPerToken = weights[1];
        double prefillFlops = prefillFlops(config, t.promptTokens(), weights[0]);
        double msPerToken = 1e3 * t.decodeSeconds() / t.decodeSteps();
        double prefillTps = t.promptTokens() / t.prefillSeconds();
        double cpuPrefillTps = t.promptTokens() / (t.prefillCpuSeconds() / threads);
        double cpuMsPerToken = 1e3 * t.decodeCpuSeconds() / threads / t.decodeSteps();
        System.out.printf(Locale.ROOT, ChildRuns.RESULT + "side=%s prompt_tokens=%d prefill_tps=%.3f decode_steps=%d decode_tps=%.4f"
                        + " ms_per_token=%.3f cpu_prefill_tps=%.3f cpu_decode_tps=%.4f cpu_ms_per_token=%.3f bw=%.3f"
                        + " fma=%.2f bw_fraction=%.4f prefill_fma_fraction=%.4f bytes_per_token=%.0f prefill_gflop=%.3f"
                        + " finish=%s load=%s%n", side, t.promptTokens(), prefillTps, t.decodeSteps(), 1e3 / msPerToken,
                msPerToken, cpuPrefillTps, 1e3 / cpuMsPerToken, cpuMsPerToken, limits.readGBs(), limits.fmaGflops(),
                bytesPerToken / (msPerToken * 1e6) / limits.readGBs(),
                prefillFlops / t.prefillSeconds() / 1e9 / limits.fmaGflops(), bytesPerToken, prefillFlops / 1e9,
                t.finish(), loadAverage());
        System.out.println("NOTE limits before: " + before + "; after: " + after);
        System.exit(0); // Jlama's pools are not daemon threads
    }

    /** Text that {@code tokenizer} encodes to exactly {@code tokens} ids (BOS included). */
    static String promptOf(Tokenizer tokenizer, int tokens) {
        StringBuilder sb = new StringBuilder();
        int w = 0;
        int misses = 0;
        while (tokenizer.encode(sb.toString(), true).length < tokens) {
            String next = (sb.isEmpty() ? "" : " ") + WORDS[w++ % WORDS.length];
            if (tokenizer.encode(sb + next, true).length <= tokens) {
                sb.append(next);
                misses = 0;
            } else if (++misses > WORDS.length) {
                throw new IllegalStateException("cannot make a prompt of exactly " + tokens + " tokens");
            }
        }
        return sb.toString();
    }

    /** Tokenize, prefill, then greedy steps; timestamps when each token is picked. */
    static Timing jvllmGenerate(SimpleRunner runner, Tokenizer tokenizer, String prompt, int newTokens) {
        long[] picked = new long[newTokens];
        long[] cpu = new long[2];
        long c0 = cpuNanos();
        long t0 = System.nanoTime();
        int[] ids = tokenizer.encode(prompt, true);
        runner.generate(ids, newTokens, (logits, step) -> {
            float[] v = Tensors.toFloats(logits);
            int best = 0;
            for (int i = 1; i < v.length; i++) {
                if (v[i] > v[best]) {
                    best = i;
                }
            }
            picked[step] = System.nanoTime();
            if (step == 0 || step == newTokens - 1) {
                cpu[step == 0 ? 0 : 1] = cpuNanos();
            }
            return best;
        });
        return new Timing(ids.length, (picked[0] - t0) / 1e9, newTokens - 1, (picked[newTokens - 1] - picked[0]) / 1e9,
                (cpu[0] - c0) / 1e9, (cpu[1] - cpu[0]) / 1e9, "length");
    }

    /** Jlama's own generate, timestamped at each token it reports. */
    private static Timing jlamaGenerate(AbstractModel m, String prompt, int promptTokens, int newTokens) {
        List<Long> picked = new ArrayList<>();
        List<Long> cpu = new ArrayList<>();
        long c0 = cpuNanos();
        long t0 = System.nanoTime();
        // ntokens counts the prompt: the prefill's token plus newTokens−1 decode steps
        Generator.Response r = m.generate(UUID.randomUUID(), PromptContext.of(prompt), 0.0f,
                promptTokens + newTokens - 1, (text, ms) -> {
                    picked.add(System.nanoTime());
                    cpu.add(cpuNanos());
                });
        int steps = picked.size() - 1;
        if (steps < 1) {
            throw new IllegalStateException("Jlama produced " + picked.size() + " tokens (" + r.finishReason + ")");
        }
        return new Timing(promptTokens, (picked.getFirst() - t0) / 1e9, steps, (picked.getLast() - picked.getFirst()) / 1e9,
                (cpu.getFirst() - c0) / 1e9, (cpu.getLast() - cpu.getFirst()) / 1e9, r.finishReason.toString());
    }

    /**
     * {elements, bytes} of the weights a decode step reads: every tensor of the checkpoint, except
     * the token embedding when the LM head has its own weights (a lookup reads one row of it).
     */
    static double[] decodeWeights(Path dir, ModelConfig config) throws IOException {
        double numel = 0, bytes = 0;
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            for (CheckpointTensor t : ckpt) {
                boolean lookupOnly = t.name().endsWith("embed_tokens.weight") && !config.tieWordEmbeddings();
                if (!lookupOnly) {
                    numel += t.numel();
                    bytes += (double) t.numel() * t.dtype().byteSize();
                }
            }
        }
        return new double[] {numel, bytes};
    }

    /**
     * Prefill work: 2 flops per weight and token for the layers (the LM head runs on the last token
     * only), plus causal attention's 4·H·D flops per (query, key) pair.
     */
    static double prefillFlops(ModelConfig c, int tokens, double params) {
        double head = (double) c.vocabSize() * c.hiddenSize();
        double attention = 4.0 * c.numAttentionHeads() * c.headDim() * tokens * (tokens + 1) / 2 * c.numHiddenLayers();
        return 2 * (params - head) * tokens + 2 * head + attention;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + "," + f[1] + "," + f[2];
        } catch (IOException e) {
            return "n/a";
        }
    }
}
