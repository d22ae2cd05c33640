package dev.jvllm.engine.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvllm.api.DType;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.quant.RandomQuantization;
import dev.jvllm.models.runtime.RandomCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code jvllm save-random}: writes a random checkpoint of a config (the weights
 * {@code --load-format dummy} loads, with a tokenizer of the same vocabulary size) so that other
 * engines can be benchmarked on the very same files.
 */
public final class SaveRandomCommand implements Command {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Presets: config.json files of well-known shapes, in resources/dev/jvllm/engine/cli/presets/. */
    static final List<String> PRESETS = List.of("llama-3.2-1b");

    @Override
    public String name() {
        return "save-random";
    }

    @Override
    public String summary() {
        return "write a random-weight checkpoint (config + safetensors + tokenizer) of any config";
    }

    @Override
    public String usage() {
        return """
                usage: jvllm save-random (--config CONFIG.json | --preset NAME) --output DIR
                                         [--dtype bf16|f16|f32] [--seed N] [--vocab-size N] [--max-shard-size SIZE]
                                         [--quantization FORMAT [--group-size G]]

                Writes a Hugging Face checkpoint directory DIR (new or empty): config.json, the weights as
                model.safetensors (or shards with model.safetensors.index.json above --max-shard-size, default
                5GB as transformers), and a byte-level BPE tokenizer.json + tokenizer_config.json of the config's
                vocab size. Every weight is uniform in [-1e-3, 1e-3] (vLLM's dummy init), a pure function of the
                seed, the tensor name and the element index: --load-format dummy with the same config loads the
                same weights (seed 1234, vLLM's default). bos_token_id/eos_token_id are set to the tokenizer's
                <|begin_of_text|> and <|end_of_text|> (the two last ids).

                  --config FILE       a config.json (e.g. copied from a Hugging Face model page)
                  --preset NAME       a built-in config: %s
                  --dtype             weight dtype (default: the config's torch_dtype, else bf16)
                  --seed N            default 1234
                  --vocab-size N      replace vocab_size (e.g. 32000 for a smaller tokenizer)
                  --max-shard-size    bytes, or with a unit: 500MB, 5GB (decimal, as transformers)
                  --quantization F    quantize the decoder's projections (round-to-nearest of the same dense
                                      weights) and write them in a published checkpoint layout, with its
                                      quantization_config; embeddings, norms and the LM head stay dense:
                %s
                  --group-size G      int4 group size (default %d; -1: one group per output channel)"""
                .formatted(String.join(", ", PRESETS), formats(), RandomQuantization.DEFAULT_GROUP_SIZE);
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Args a = Args.parse(args, Set.of(), Set.of("--config", "--preset", "--output", "--dtype", "--seed", "--vocab-size",
                "--max-shard-size", "--quantization", "--group-size"));
        a.requirePositionals(0, 0, "nothing");
        if ((a.value("--config") == null) == (a.value("--preset") == null)) {
            throw new UsageException("give exactly one of --config FILE and --preset NAME");
        }
        String output = a.value("--output");
        if (output == null) {
            throw new UsageException("missing --output DIR (a new or empty directory)");
        }
        ObjectNode config = a.value("--config") != null ? readConfig(Path.of(a.value("--config"))) : preset(a.value("--preset"));
        int vocab = a.intValue("--vocab-size", 0);
        if (a.value("--vocab-size") != null) {
            if (vocab < 258) {
                throw new UsageException("--vocab-size must be >= 258 (256 byte tokens + 2 special tokens), got " + vocab);
            }
            config.put("vocab_size", vocab);
        }
        DType dtype = switch (a.value("--dtype", "auto")) {
            case "auto" -> RandomCheckpoint.dtypeOf(ModelConfig.parse(config.toString(), "config"));
            case "bf16" -> DType.BF16;
            case "f16" -> DType.F16;
            case "f32" -> DType.F32;
            default -> throw new UsageException("--dtype must be bf16, f16 or f32, got " + a.value("--dtype"));
        };
        long seed;
        try {
            seed = Long.parseLong(a.value("--seed", String.valueOf(RandomCheckpoint.DEFAULT_SEED)));
        } catch (NumberFormatException e) {
            throw new UsageException("--seed must be an integer, got " + a.value("--seed"));
        }
        long maxShard = a.value("--max-shard-size") == null ? RandomCheckpoint.DEFAULT_MAX_SHARD_BYTES
                : size(a.value("--max-shard-size"));
        RandomQuantization quantization = null;
        if (a.value("--quantization") != null) {
            try {
                quantization = new RandomQuantization(RandomQuantization.Format.parse(a.value("--quantization")),
                        a.intValue("--group-size", RandomQuantization.DEFAULT_GROUP_SIZE), dtype, seed);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        } else if (a.value("--group-size") != null) {
            throw new UsageException("--group-size needs --quantization");
        }
        Path dir = Path.of(output);
        long start = System.nanoTime();
        ModelConfig written = RandomCheckpoint.write(config, dir, dtype, seed, maxShard, quantization);
        long bytes;
        try (var files = Files.list(dir)) {
            bytes = files.filter(p -> p.toString().endsWith(".safetensors")).mapToLong(p -> p.toFile().length()).sum();
        }
        err.printf(Locale.ROOT, "wrote %s: %s, %s weights%s (%.2f GB), vocab %d, seed %d in %.1f s%n", dir,
                written.architectures(), dtype, quantization == null ? "" : ", projections " + quantization,
                bytes / 1e9, written.vocabSize(), seed, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private static String formats() {
        StringBuilder sb = new StringBuilder();
        for (RandomQuantization.Format f : RandomQuantization.Format.values()) {
            sb.append(String.format(Locale.ROOT, "                        %-15s %s%n", f.id(), f.summary()));
        }
        return sb.toString().stripTrailing();
    }

    private static ObjectNode readConfig(Path file) throws IOException, UsageException {
        try {
            return object(JSON.readTree(Files.readString(file)), file.toString());
        } catch (NoSuchFileException e) {
            throw new UsageException("no such config file: " + file);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": malformed JSON: " + e.getOriginalMessage());
        }
    }

    private static ObjectNode preset(String name) throws IOException, UsageException {
        if (!PRESETS.contains(name)) {
            throw new UsageException("unknown preset \"" + name + "\"; presets: " + String.join(", ", PRESETS));
        }
        try (InputStream in = SaveRandomCommand.class.getResourceAsStream("presets/" + name + ".json")) {
            return object(JSON.readTree(in), "preset " + name);
        }
    }

    private static ObjectNode object(JsonNode n, String source) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException(source + ": expected a JSON object (a config.json)");
        }
        return (ObjectNode) n;
    }

    /** {@code 123}, {@code 500MB}, {@code 5GB} (decimal units, as transformers' max_shard_size). */
    static long size(String s) throws UsageException {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        for (String[] u : new String[][] {{"KB", "1000"}, {"MB", "1000000"}, {"GB", "1000000000"}, {"B", "1"}}) {
            if (t.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            long v = Math.multiplyExact(Long.parseLong(t), unit);
            if (v <= 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageException("--max-shard-size: \"" + s + "\" is not a positive size (e.g. 2000000000, 500MB, 5GB)");
        }
    }
}
