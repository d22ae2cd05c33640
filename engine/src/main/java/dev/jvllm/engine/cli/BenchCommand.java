package dev.jvllm.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvllm.api.DeviceMemory;
import dev.jvllm.engine.LLM;
import dev.jvllm.engine.Prompt;
import dev.jvllm.engine.RequestOutput;
import dev.jvllm.engine.core.EngineOptions;
import dev.jvllm.engine.core.EngineStats;
import dev.jvllm.engine.core.SamplingParams;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code jvllm bench latency|throughput}: end-to-end engine benchmarks in the shape of vLLM's
 * {@code vllm bench}. Prompts are random token ids (seeded, so no tokenizer is needed and every
 * run sees the same ones); EOS is ignored, so every request generates exactly
 * {@code --output-len} tokens; sampling is greedy.
 *
 * <ul>
 *   <li>latency: {@code --batch-size} requests at once, {@code --num-iters} times after
 *       {@code --num-iters-warmup}: end-to-end latency (mean, p50, p90), prefill tokens/s (from the
 *       time to the first token), decode tokens/s and time per output token.</li>
 *   <li>throughput: {@code --num-prompts} requests submitted together, once after
 *       {@code --num-iters-warmup} runs of the same requests: requests/s, output tokens/s and total
 *       tokens/s. The warm-up meets every shape the measured run meets (a GPU backend captures a
 *       decode graph per batch and context bucket the first times it sees one; vLLM captures its
 *       graphs at start-up, before any benchmark).</li>
 * </ul>
 * Both report what the measured runs cost the process (CPU time of all threads, garbage collections)
 * and its memory at the end (Linux): peak and current resident set, its split into anonymous and file
 * pages, the Java heap's committed size, and the peak against weights + the KV cache the requests
 * filled.
 */
public final class BenchCommand implements Command {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "end-to-end benchmarks: latency (batch of requests) or throughput (many requests)";
    }

    @Override
    public String usage() {
        return """
                usage: jvllm bench latency    [--model DIR] [--input-len 32] [--output-len 128] [--batch-size 1]
                                              [--num-iters 3] [--num-iters-warmup 1] [--json] [options]
                       jvllm bench throughput [--model DIR] [--input-len 128] [--output-len 128] [--num-prompts 64]
                                              [--num-iters-warmup 1] [--json] [options]

                Random prompts (seeded token ids), greedy, EOS ignored. Op-level benchmarks live in the
                benchmarks module (tools/bench/). With --load-format dummy (where supported) the weights
                are random and only config.json is read.

                """ + ModelOptions.USAGE;
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Set<String> values = new HashSet<>(ModelOptions.VALUE_OPTIONS);
        values.addAll(Set.of("--input-len", "--output-len", "--batch-size", "--num-iters", "--num-iters-warmup",
                "--num-prompts", "--seed"));
        Set<String> flags = new HashSet<>(ModelOptions.FLAGS);
        flags.add("--json");
        Args a = Args.parse(args, flags, values);
        a.requirePositionals(1, 1, "latency or throughput");
        String mode = a.positionals().get(0);
        if (!mode.equals("latency") && !mode.equals("throughput")) {
            throw new UsageException("bench: the first argument is latency or throughput, got \"" + mode + "\"");
        }
        boolean latency = mode.equals("latency");
        int inputLen = positive(a, "--input-len", latency ? 32 : 128);
        int outputLen = positive(a, "--output-len", 128);
        int requests = latency ? positive(a, "--batch-size", 1) : positive(a, "--num-prompts", 64);
        int iters = positive(a, "--num-iters", 3);
        int warmup = a.intValue("--num-iters-warmup", 1);
        if (warmup < 0) {
            throw new UsageException("--num-iters-warmup must be >= 0, got " + warmup);
        }
        ModelOptions m = ModelOptions.from(a);
        int vocab = ModelConfig.load(m.model()).vocabSize();
        List<Prompt> prompts = randomPrompts(requests, inputLen, vocab, Long.parseLong(a.value("--seed", "0")));
        SamplingParams params = SamplingParams.builder().temperature(0).maxTokens(outputLen).ignoreEos(true).build();

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("mode", mode);
        result.put("model", m.model().toString());
        result.put("input_len", inputLen);
        result.put("output_len", outputLen);
        result.put(latency ? "batch_size" : "num_prompts", requests);
        try (LLM llm = LLM.load(m.model(), m.engine())) {
            String backend = m.engine().backend() != null ? m.engine().backend() : dev.jvllm.api.Backends.best().name();
            result.put("backend", backend);
            if (latency) {
                for (int i = 0; i < warmup; i++) {
                    llm.generatePrompts(prompts, params);
                }
                double[] total = new double[iters], prefill = new double[iters];
                ProcessCost before = ProcessCost.sample();
                for (int i = 0; i < iters; i++) {
                    long t0 = System.nanoTime();
                    List<RequestOutput> outs = llm.generatePrompts(prompts, params);
                    total[i] = (System.nanoTime() - t0) / 1e9;
                    for (RequestOutput o : outs) {
                        prefill[i] = Math.max(prefill[i], o.timeToFirstToken().toNanos() / 1e9);
                    }
                }
                double meanTotal = mean(total), meanPrefill = mean(prefill);
                double decodeSeconds = Math.max(meanTotal - meanPrefill, 1e-9);
                result.put("latency_mean_s", meanTotal);
                result.put("latency_p50_s", percentile(total, 50));
                result.put("latency_p90_s", percentile(total, 90));
                result.put("prefill_tok_s", (double) requests * inputLen / meanPrefill);
                result.put("decode_tok_s", outputLen > 1 ? (double) requests * (outputLen - 1) / decodeSeconds : 0.0);
                result.put("time_per_output_token_ms", outputLen > 1 ? 1000 * decodeSeconds / (outputLen - 1) : 0.0);
                putCost(result, ProcessCost.sample().since(before), iters);
            } else {
                for (int i = 0; i < warmup; i++) {
                    llm.generatePrompts(prompts, params); // the measured run's shapes, graphs captured
                }
                ProcessCost before = ProcessCost.sample();
                long t0 = System.nanoTime();
                List<RequestOutput> outs = llm.generatePrompts(prompts, params);
                double s = (System.nanoTime() - t0) / 1e9;
                long generated = outs.stream().mapToLong(o -> o.tokenIds().length).sum();
                result.put("elapsed_s", s);
                result.put("requests_per_s", requests / s);
                result.put("output_tok_s", generated / s);
                result.put("total_tok_s", ((double) requests * inputLen + generated) / s);
                putCost(result, ProcessCost.sample().since(before), 1);
            }
            result.put("preemptions", llm.stats().preemptions());
            putMemory(result, llm, m.engine(), requests, inputLen + outputLen);
        }
        if (a.has("--json")) {
            out.println(JSON.writeValueAsString(result));
        } else {
            for (Map.Entry<String, Object> e : result.entrySet()) {
                Object v = e.getValue();
                out.printf("%-26s %s%n", e.getKey(), v instanceof Double d ? String.format("%.4g", d) : v);
            }
        }
        return 0;
    }

    /**
     * What the measured runs cost the process, per run: CPU seconds of all threads (the kernels' work
     * plus JIT and GC threads), and the garbage collectors' count and time. Comparing JVM options (a
     * collector, a heap size) by these is fairer on a busy machine than by wall time.
     */
    private static void putCost(Map<String, Object> result, ProcessCost cost, int runs) {
        if (cost.cpuNanos() >= 0) {
            result.put("cpu_time_mean_s", cost.cpuNanos() / 1e9 / runs);
        }
        result.put("gc_count_mean", (double) cost.gcCount() / runs);
        result.put("gc_time_mean_ms", (double) cost.gcMillis() / runs);
    }

    /**
     * Resident memory against what the model needs: the checkpoint's safetensors files (memory-mapped
     * on the CPU, so their pages count as the process's file pages) plus the KV blocks that
     * {@code requests} sequences of {@code tokens} tokens fill. The KV cache's allocated size is
     * reported too; its untouched pages are not resident. The ratio only where both live in host
     * memory (a backend that reports no device memory; a GPU keeps them in device memory). The Java
     * heap's committed size is part of the anonymous memory; pages of it the collector never touched
     * are not resident.
     */
    private static void putMemory(Map<String, Object> result, LLM llm, EngineOptions o, int requests, int tokens)
            throws IOException {
        ProcessMemory mem = ProcessMemory.sample();
        if (mem == null) {
            return;
        }
        EngineStats s = llm.stats();
        long weights = o.loadFormat() == ModelLoader.LoadFormat.DUMMY ? 0 : checkpointBytes(llm.modelDir());
        long kvAllocated = s.kvBlockBytes() * s.totalBlocks();
        long kvUsed = Math.min(kvAllocated, s.kvBlockBytes() * requests * ((tokens + o.blockSize() - 1L) / o.blockSize()));
        result.put("rss_peak_bytes", mem.peakBytes());
        result.put("rss_bytes", mem.rssBytes());
        result.put("rss_anon_bytes", mem.anonBytes());
        result.put("rss_file_bytes", mem.fileBytes());
        result.put("heap_committed_bytes", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted());
        result.put("weights_bytes", weights);
        result.put("kv_cache_bytes", kvAllocated);
        result.put("kv_used_bytes", kvUsed);
        DeviceMemory device = s.deviceMemory();
        if (weights > 0 && device == null) {
            result.put("rss_peak_over_weights_kv", (double) mem.peakBytes() / (weights + kvUsed));
        }
        if (device != null) { // GPU: the model as stored on the device, and the allocator's totals
            result.put("device_model_bytes", s.modelDeviceBytes());
            result.put("device_in_use_bytes", device.inUse());
            result.put("device_peak_bytes", device.peak());
            result.put("device_reserved_bytes", device.reserved());
        }
    }

    /** Total size of the *.safetensors files in dir. */
    private static long checkpointBytes(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            long total = 0;
            for (Path f : (Iterable<Path>) files.filter(f -> f.getFileName().toString().endsWith(".safetensors"))::iterator) {
                total += Files.size(f);
            }
            return total;
        }
    }

    private static int positive(Args a, String option, int defaultValue) throws UsageException {
        int v = a.intValue(option, defaultValue);
        if (v < 1) {
            throw new UsageException(option + " must be >= 1, got " + v);
        }
        return v;
    }

    /** {@code n} prompts of {@code len} token ids drawn uniformly from the vocabulary. */
    static List<Prompt> randomPrompts(int n, int len, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Prompt> prompts = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int[] ids = new int[len];
            for (int j = 0; j < len; j++) {
                ids[j] = r.nextInt(vocab);
            }
            prompts.add(Prompt.ofTokens(ids));
        }
        return prompts;
    }

    private static double mean(double[] v) {
        return Arrays.stream(v).average().orElse(0);
    }

    /** Nearest-rank percentile. */
    private static double percentile(double[] v, int p) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[Math.max(0, (int) Math.ceil(p / 100.0 * s.length) - 1)];
    }
}
