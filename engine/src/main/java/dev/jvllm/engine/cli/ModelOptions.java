package dev.jvllm.engine.cli;

import dev.jvllm.engine.core.EngineOptions;
import dev.jvllm.engine.core.ModelRanks;
import dev.jvllm.engine.hub.HubSettings;
import dev.jvllm.engine.hub.ModelSource;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * The options every model-running subcommand shares ({@code --model} and the engine arguments:
 * backend, tensor-parallel size, dtype, threads, cache and batch sizes) and loading the model they name.
 *
 * @param model  the checkpoint directory
 * @param engine everything else, as the engine takes it
 */
record ModelOptions(Path model, EngineOptions engine) {
    static final Set<String> VALUE_OPTIONS = Set.of("--model", "--revision", "--backend", "--tensor-parallel-size",
            "--dtype", "--threads", "--kv-cache-memory", "--max-model-len", "--max-num-seqs", "--max-num-batched-tokens", "--load-format");
    static final Set<String> FLAGS = Set.of("--no-enable-prefix-caching", "--no-enable-chunked-prefill",
            "--enforce-eager", "--async-scheduling");
    static final String USAGE = """
              --model DIR|ORG/NAME        a Hugging Face checkpoint directory (config.json + *.safetensors), or a
                                          hub id, downloaded into the Hugging Face cache (HF_HOME, HF_HUB_CACHE,
                                          HF_TOKEN, HF_ENDPOINT; HF_HUB_OFFLINE=1: cache only);
                                          default: the bundled model in default-model/
              --revision REV              branch, tag or commit of a hub model (default main)
              --backend NAME              cpu, cuda, ... (default: -Djvllm.backend, else the best available)
              --tensor-parallel-size N    shard the model over N ranks (default 1)
              --dtype auto|f32|bf16       auto: weights as stored; activations f32 on the CPU, bf16 on a GPU
                                          (default auto)
              --threads N                 CPU threads per rank (default: all cores, split over the ranks)
              --kv-cache-memory SIZE      KV cache + per-sequence state per rank, e.g. 512MiB, 4GiB, or a share
                                          of the device's memory (the machine's on the CPU), e.g. 30%
                                          (default: enough for max-num-seqs x max-model-len, at most 4 GiB)
              --max-model-len N           longest sequence, prompt + output (default: the config's)
              --max-num-seqs N            most sequences in one step (default 256)
              --max-num-batched-tokens N  most tokens in one step, the chunked-prefill budget (default 2048)
              --no-enable-prefix-caching  recompute shared prompt prefixes (prefix caching is on by default)
              --no-enable-chunked-prefill compute every prompt in one step
              --enforce-eager             run decode steps op by op, not replayed from CUDA graphs
              --async-scheduling          launch each decode step before the previous one's tokens are read
                                          back (sequences that sample on the device; outputs one step later)
              --load-format auto|dummy    dummy: random weights from config.json alone (vLLM's; see save-random)""";

    static ModelOptions from(Args a) throws Command.UsageException {
        String model = a.value("--model");
        Path dir;
        try {
            dir = model == null ? defaultModel()
                    : ModelSource.resolve(model, a.value("--revision"), HubSettings.fromEnvironment(), System.err);
        } catch (IllegalArgumentException e) { // neither a directory nor a hub id, or a bad --revision
            throw new Command.UsageException(e.getMessage());
        }
        EngineOptions d = EngineOptions.defaults();
        String kv = a.value("--kv-cache-memory", "0");
        try {
            EngineOptions o = d.withBackend(a.value("--backend"))
                    .withDtype(a.value("--dtype", "auto"))
                    .withThreads(a.intValue("--threads", 0))
                    .withTensorParallelSize(a.intValue("--tensor-parallel-size", 1))
                    .withKvCacheMemoryBytes(fraction(kv) == null ? bytes("--kv-cache-memory", kv) : 0)
                    .withKvCacheMemoryFraction(fraction(kv) == null ? 0 : fraction(kv))
                    .withMaxModelLen(a.intValue("--max-model-len", 0))
                    .withMaxNumSeqs(a.intValue("--max-num-seqs", d.maxNumSeqs()))
                    .withMaxNumBatchedTokens(a.intValue("--max-num-batched-tokens", d.maxNumBatchedTokens()))
                    .withChunkedPrefill(!a.has("--no-enable-chunked-prefill"))
                    .withEnforceEager(a.has("--enforce-eager"))
                    .withAsyncScheduling(a.has("--async-scheduling"))
                    .withLoadFormat(switch (a.value("--load-format", "auto")) {
                        case "auto" -> ModelLoader.LoadFormat.AUTO;
                        case "dummy" -> ModelLoader.LoadFormat.DUMMY;
                        default -> throw new Command.UsageException("--load-format must be auto or dummy, got "
                                + a.value("--load-format"));
                    });
            if (a.has("--no-enable-prefix-caching")) {
                o = o.withPrefixCaching(false);
            }
            return new ModelOptions(dir, o);
        } catch (IllegalArgumentException e) {
            throw new Command.UsageException(e.getMessage());
        }
    }

    /** Property the launcher sets to the project root; the bundled model is its {@code default-model/}. */
    static final String HOME_PROPERTY = "jvllm.home";

    /**
     * The bundled default model (a 5M-parameter Llama trained on the King James Bible, see
     * default-model/README.md), used when no {@code --model} is given.
     */
    static Path defaultModel() throws Command.UsageException {
        String home = System.getProperty(HOME_PROPERTY);
        Path dir = home == null ? null : Path.of(home, "default-model");
        if (dir == null || !Files.isRegularFile(dir.resolve("config.json"))) {
            throw new Command.UsageException("--model DIR is required (no bundled default model found"
                    + (home == null ? ": -D" + HOME_PROPERTY + " is not set; run through ./jvllm)" : " at " + dir + ")"));
        }
        return dir;
    }

    /** {@code 25%} → 0.25; null when {@code size} is not a percentage. */
    static Double fraction(String size) throws Command.UsageException {
        String s = size.strip();
        if (!s.endsWith("%")) {
            return null;
        }
        try {
            double f = Double.parseDouble(s.substring(0, s.length() - 1).strip()) / 100;
            if (f > 0 && f <= 1) {
                return f;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new Command.UsageException("--kv-cache-memory: \"" + size + "\" is not a percentage in (0%, 100%]");
    }

    private static final java.util.regex.Pattern SIZE =
            java.util.regex.Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*([KMGT]?)(?:I?B)?");

    /** {@code 4GiB}, {@code 512MiB}, {@code 2G}, {@code 1000000}: bytes (K/M/G/T are binary units). */
    static long bytes(String option, String size) throws Command.UsageException {
        java.util.regex.Matcher m = SIZE.matcher(size.strip().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new Command.UsageException(option + ": \"" + size + "\" is not a size; use e.g. 512MiB, 4GiB or bytes");
        }
        long unit = m.group(2).isEmpty() ? 1 : 1L << (10 * ("KMGT".indexOf(m.group(2)) + 1));
        return Math.round(Double.parseDouble(m.group(1)) * unit);
    }

    /**
     * Loads the model (over {@code --tensor-parallel-size} ranks) and runs {@code f} with a
     * single-sequence runner on every rank; returns rank 0's result (the ranks compute the same
     * tokens and logits). For what needs every prompt position's logits ({@code logits}).
     */
    <R> R run(int maxTokens, Function<SimpleRunner, R> f) {
        try (ModelRanks ranks = ModelRanks.load(model, engine)) {
            return ranks.run(m -> {
                try (SimpleRunner r = new SimpleRunner(m, maxTokens)) {
                    return f.apply(r);
                }
            }).get(0);
        }
    }

    /** Parses {@code 5,17,3}. */
    static int[] tokenIds(String csv) throws Command.UsageException {
        if (csv == null || csv.isBlank()) {
            throw new Command.UsageException("--prompt-token-ids needs a comma-separated list of ids, e.g. 5,17,3");
        }
        String[] parts = csv.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new Command.UsageException("--prompt-token-ids: \"" + parts[i] + "\" is not a token id");
            }
            if (ids[i] < 0) {
                throw new Command.UsageException("--prompt-token-ids: token ids are >= 0, got " + ids[i]);
            }
        }
        return ids;
    }
}
