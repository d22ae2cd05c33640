package dev.jvllm.bench;

import static dev.jvllm.bench.ChildRuns.d;
import static dev.jvllm.bench.ChildRuns.median;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.LinearWeight;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.engine.tokenizer.Tokenizer;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.LinearBase;
import dev.jvllm.models.layers.Module;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;

import java.io.IOException;

import java.lang.management.ManagementFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * CPU decode speed and weight memory per quantized format, batch 1: one checkpoint directory per
 * format under {@code --dir} (written by {@code jvllm save-random --quantization F}, all from the
 * same dense weights), each measured in a fresh JVM with the same thread count, the formats
 * interleaved round by round (A B C A B C ...) so that the machine's load hits them alike.
 *
 * <p>Each child loads the model on the CPU backend (f32 activations), reads its memory (the
 * linear layers' tensors as the loader holds them, and the process's RSS split into anonymous
 * memory and file pages, before the probe allocates its buffer), runs one warm-up generation,
 * probes the read bandwidth, runs the measured generation and probes again. Decode tok/s is over
 * the steps after the first token; weight bytes per token are every checkpoint tensor a step reads
 * ({@link CompareJlama#decodeWeights}); the bandwidth fraction divides bytes per token by the time
 * per token and by the mean of the two probes.
 *
 * <pre>
 * QuantDecode --dir DIR --formats dense,fp8,gptq,... [--threads N] [--rounds R] [--prompt-tokens 32]
 *             [--new-tokens 32]
 * </pre>
 */
public final class QuantDecode {

    private QuantDecode() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
            }
            a.put(args[i].substring(2), args[i + 1]);
        }
        if (!a.containsKey("dir") || (!a.containsKey("formats") && !a.containsKey("child"))) {
            throw new IllegalArgumentException("usage: QuantDecode --dir DIR --formats dense,fp8,... [--threads N] "
                    + "[--rounds R] [--prompt-tokens 32] [--new-tokens 32]");
        }
        if (a.containsKey("child")) {
            child(a);
        } else {
            orchestrate(a);
        }
    }

    private static void orchestrate(Map<String, String> a) throws Exception {
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "2"));
        List<String> formats = List.of(a.get("formats").split(","));
        String threads = a.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors()));
        System.out.printf("checkpoints under %s, %s threads, %s prompt tokens, %s new tokens, %d rounds%n", a.get("dir"),
                threads, a.getOrDefault("prompt-tokens", "32"), a.getOrDefault("new-tokens", "32"), rounds);
        Map<String, List<Map<String, String>>> results = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (String f : formats) {
                Map<String, String> res = runChild(f, a, threads);
                results.computeIfAbsent(f, k -> new ArrayList<>()).add(res);
                System.out.printf(Locale.ROOT, "round %d %-15s decode %6.2f tok/s (%6.1f ms/token, CPU-time based %6.2f)"
                        + "  %6.3f GB/token  %5.1f GB/s = %5.1f%% of %.1f GB/s | load %s%n", r + 1, f,
                        d(res, "decode_tps"), d(res, "ms_per_token"), d(res, "cpu_decode_tps"),
                        d(res, "bytes_per_token") / 1e9, d(res, "effective_gbs"), 100 * d(res, "bw_fraction"),
                        d(res, "bw"), res.get("load"));
            }
        }
        System.out.println();
        System.out.println("| format | linear layers' formats | linear weights in memory (MB) | weight bytes/token (GB) "
                + "| decode tok/s | ms/token | CPU-time tok/s | GB/s | % of read bandwidth | RSS anon / file (MB) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        for (String f : formats) {
            List<Map<String, String>> rs = results.get(f);
            Map<String, String> first = rs.getFirst();
            System.out.printf(Locale.ROOT, "| %s | %s | %.0f | %.3f | %.2f | %.1f | %.2f | %.1f | %.0f%% | %.0f / %.0f |%n",
                    f, first.get("linear_formats"), d(first, "linear_bytes") / 1e6, d(first, "bytes_per_token") / 1e9,
                    median(rs, "decode_tps"), median(rs, "ms_per_token"), median(rs, "cpu_decode_tps"),
                    median(rs, "effective_gbs"), 100 * median(rs, "bw_fraction"), median(rs, "rss_anon") / 1e6,
                    median(rs, "rss_file") / 1e6);
        }
        System.out.println("(medians over rounds; memory after load + warm-up, before the bandwidth probe)");
    }

    private static Map<String, String> runChild(String format, Map<String, String> a, String threads) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), QuantDecode.class.getName(), "--child", format,
                "--dir", a.get("dir"), "--threads", threads, "--prompt-tokens", a.getOrDefault("prompt-tokens", "32"),
                "--new-tokens", a.getOrDefault("new-tokens", "32")));
        return ChildRuns.run(cmd, format, line -> { });
    }

    private static void child(Map<String, String> a) throws Exception {
        Path dir = Path.of(a.get("dir")).resolve(a.get("child"));
        int threads = Integer.parseInt(a.get("threads"));
        int promptTokens = Integer.parseInt(a.get("prompt-tokens"));
        int newTokens = Integer.parseInt(a.get("new-tokens"));
        Tokenizer tokenizer = Tokenizer.load(dir);
        String prompt = CompareJlama.promptOf(tokenizer, promptTokens);
        CompareJlama.Timing t;
        MachineLimits.Limits before, after;
        long linearBytes = 0;
        TreeSet<String> linearFormats = new TreeSet<>();
        long[] rss;
        try (Backend b = CpuBackend.create(BackendOptions.defaults().withThreads(threads));
             CausalLM m = ModelLoader.load(dir, b, ParallelConfig.single(), DType.F32, null);
             SimpleRunner runner = new SimpleRunner(m, promptTokens + newTokens + 16)) {
            for (Module mod : ((Module) m).modules()) {
                if (mod instanceof LinearBase l && !l.prefix().endsWith("lm_head")) {
                    for (LinearWeight w : l.weights()) {
                        linearFormats.add(w.formatName());
                        for (Tensor x : w.tensors()) {
                            linearBytes += x.numel() * x.dtype().byteSize();
                        }
                    }
                }
            }
            CompareJlama.jvllmGenerate(runner, tokenizer, prompt, newTokens); // warm-up: JIT, pages touched
            rss = rss();
            before = MachineLimits.probe(threads);
            t = CompareJlama.jvllmGenerate(runner, tokenizer, prompt, newTokens);
            after = MachineLimits.probe(threads);
        }
        MachineLimits.Limits limits = before.mean(after);
        double bytesPerToken = CompareJlama.decodeWeights(dir, ModelConfig.load(dir))[1];
        double msPerToken = 1e3 * t.decodeSeconds() / t.decodeSteps();
        double cpuMsPerToken = 1e3 * t.decodeCpuSeconds() / threads / t.decodeSteps();
        double effective = bytesPerToken / (msPerToken * 1e6);
        System.out.printf(Locale.ROOT, ChildRuns.RESULT + "decode_tps=%.4f ms_per_token=%.3f cpu_decode_tps=%.4f bytes_per_token=%.0f"
                        + " effective_gbs=%.3f bw=%.3f bw_fraction=%.4f linear_bytes=%d linear_formats=%s rss_anon=%d"
                        + " rss_file=%d load=%s%n", 1e3 / msPerToken, msPerToken, 1e3 / cpuMsPerToken, bytesPerToken,
                effective, limits.readGBs(), effective / limits.readGBs(), linearBytes, String.join(",", linearFormats),
                rss[0], rss[1], CompareJlama.loadAverage());
    }

    /** {RssAnon, RssFile} of this process in bytes (Linux /proc/self/status; -1 elsewhere). */
    static long[] rss() {
        long[] out = {-1, -1};
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                String[] f = line.split("\\s+");
                if (f[0].equals("RssAnon:")) {
                    out[0] = Long.parseLong(f[1]) * 1024;
                } else if (f[0].equals("RssFile:")) {
                    out[1] = Long.parseLong(f[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: reported as -1
        }
        return out;
    }
}
