package dev.jvllm.models.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.jvllm.api.DType;
import dev.jvllm.api.Numerics;
import dev.jvllm.models.arch.CheckpointLayout;
import dev.jvllm.models.loader.CheckpointTensor;
import dev.jvllm.models.loader.ModelConfig;
import dev.jvllm.models.loader.SafetensorsWriter;
import dev.jvllm.models.quant.RandomQuantization;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;

/**
 * Random weights from a config alone: vLLM's {@code --load-format dummy} and a writer of the same
 * weights as a Hugging Face checkpoint directory, so that other engines load the very same model.
 *
 * <p>Init (vLLM's {@code initialize_dummy_weights}): every tensor of the checkpoint, norms and
 * biases included, uniform in [{@value #LOW}, {@value #HIGH}], which keeps activations finite in any
 * depth. The values are a pure function of (seed, tensor name, element index) — a SplitMix64 hash
 * giving 24 random bits per element — then rounded to the checkpoint dtype, so a tensor is the same
 * whatever the thread count, the order of generation or the shard it is written to, and
 * {@code --load-format dummy} with seed s loads exactly the weights {@code save-random --seed s}
 * writes. (The values are not torch's: vLLM draws from torch's generator, which is not reproducible
 * outside torch; the distribution is the same.)
 */
public final class RandomCheckpoint {
    /** Lower bound of the uniform init (vLLM's). */
    public static final float LOW = -1e-3f;
    /** Upper bound of the uniform init (vLLM's). */
    public static final float HIGH = 1e-3f;
    /** vLLM's default seed for dummy weights. */
    public static final long DEFAULT_SEED = 1234;
    /** The largest shard {@link #write} makes by default: transformers' {@code max_shard_size="5GB"}. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    private static final long CHUNK = 1 << 20; // elements generated per parallel task
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private RandomCheckpoint() {
    }

    /**
     * The dtype random weights take for {@code config}: its {@code dtype}/{@code torch_dtype}, else
     * BF16 (what current checkpoints ship in).
     */
    public static DType dtypeOf(ModelConfig config) {
        return config.dtype().orElse(DType.BF16);
    }

    /**
     * Every checkpoint tensor of {@code config} ({@link CheckpointLayout}), filled with the random init
     * in {@code dtype}, in memory from {@code arena}; the tensors live as long as the arena.
     *
     * @param dtype F32, F16 or BF16
     * @param arena a shared arena ({@link Arena#ofShared()}): tensors are filled by several threads
     */
    public static List<CheckpointTensor> tensors(ModelConfig config, DType dtype, long seed, Arena arena) {
        checkFloat(dtype);
        Path origin = Path.of(config.source() + " (random weights, seed " + seed + ")");
        List<CheckpointTensor> out = new ArrayList<>();
        for (CheckpointLayout.Entry e : CheckpointLayout.of(config)) {
            MemorySegment data = arena.allocate(Math.multiplyExact(e.numel(), (long) dtype.byteSize()), 64);
            fill(data, dtype, seed, e.name(), e.numel());
            out.add(new CheckpointTensor(e.name(), dtype, e.shape(), data, origin));
        }
        return out;
    }

    /**
     * Element {@code index} of tensor {@code name} before rounding to the checkpoint dtype: uniform
     * in [LOW, HIGH] from the top 24 bits of a SplitMix64 hash of (seed, name, index).
     */
    public static float value(long seed, String name, long index) {
        return valueOf(key(seed, name), index);
    }

    private static float valueOf(long key, long index) {
        long z = key + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return LOW + (HIGH - LOW) * ((z >>> 40) * 0x1.0p-24f);
    }

    /** seed and an FNV-1a hash of the name, mixed: one stream per (seed, tensor). */
    private static long key(long seed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h ^ (seed * 0xD1B54A32D192ED03L);
    }

    private static void fill(MemorySegment dst, DType dtype, long seed, String name, long numel) {
        long key = key(seed, name);
        LongStream.range(0, (numel + CHUNK - 1) / CHUNK).parallel().forEach(chunk -> {
            long end = Math.min(numel, (chunk + 1) * CHUNK);
            for (long i = chunk * CHUNK; i < end; i++) {
                float v = valueOf(key, i);
                switch (dtype) {
                    case F32 -> dst.set(F32, 4 * i, v);
                    case BF16 -> dst.set(I16, 2 * i, Numerics.f32ToBf16(v));
                    case F16 -> dst.set(I16, 2 * i, Float.floatToFloat16(v));
                    default -> throw new AssertionError(dtype);
                }
            }
        });
    }

    private static void checkFloat(DType dtype) {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("random weights are F32, F16 or BF16, not " + dtype);
        }
    }

    /**
     * Writes a loadable Hugging Face checkpoint directory: {@code config.json} (the given config with
     * {@code torch_dtype} set and {@code bos_token_id}/{@code eos_token_id} pointing at the
     * tokenizer's special tokens), the random weights as {@code model.safetensors} or, above
     * {@code maxShardBytes}, as {@code model-0000i-of-0000n.safetensors} shards with
     * {@code model.safetensors.index.json}, and a byte-level BPE tokenizer of the config's vocab
     * size ({@link SyntheticTokenizer}). Shards are filled in layout order and one shard's tensors
     * are in memory at a time.
     *
     * @param config a config.json object (it is not modified)
     * @param dir    a new or empty directory
     * @return the config as written
     * @throws IOException when {@code dir} is not empty or a file cannot be written
     */
    public static ModelConfig write(ObjectNode config, Path dir, DType dtype, long seed, long maxShardBytes)
            throws IOException {
        return write(config, dir, dtype, seed, maxShardBytes, null);
    }

    /**
     * {@link #write(ObjectNode, Path, DType, long, long)} with the decoder's projections quantized
     * by {@code quantization} (null: dense): each is the round-to-nearest quantization of the very
     * weight the dense checkpoint of the same seed holds, in the format's published layout, and
     * config.json gets the format's {@code quantization_config}.
     */
    public static ModelConfig write(ObjectNode config, Path dir, DType dtype, long seed, long maxShardBytes,
            RandomQuantization quantization) throws IOException {
        checkFloat(dtype);
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("max shard size must be > 0, got " + maxShardBytes);
        }
        ObjectNode out = config.deepCopy();
        ModelConfig parsed = ModelConfig.parse(out.toString(), dir.resolve("config.json").toString());
        int vocab = parsed.vocabSize();
        SyntheticTokenizer.Specials specials = SyntheticTokenizer.specials(vocab);
        out.put("bos_token_id", specials.bos());
        out.put("eos_token_id", specials.eos());
        out.remove("dtype"); // transformers 5's name; torch_dtype is read by every version and by other engines
        out.put("torch_dtype", switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            default -> "bfloat16";
        });
        out.remove("quantization_config");
        if (quantization != null) {
            out.set("quantization_config", quantization.config());
        }
        parsed = ModelConfig.parse(out.toString(), dir.resolve("config.json").toString());
        List<CheckpointLayout.Entry> layout = CheckpointLayout.of(parsed);
        String arch = parsed.architectures().isEmpty() ? "" : parsed.architectures().getFirst();
        if (quantization != null) {
            RandomQuantization.checkArchitecture(arch);
        }

        if (Files.isDirectory(dir)) {
            try (var files = Files.list(dir)) {
                if (files.findAny().isPresent()) {
                    throw new IOException("output directory " + dir + " is not empty; give a new or empty directory"
                            + " (files of an older checkpoint there would mix with the new one)");
                }
            }
        }
        Files.createDirectories(dir);
        // shards: consecutive layout entries up to maxShardBytes (a bigger layer gets a shard of its own); a
        // quantized layer's size is known once it is quantized, so shards are written as parts and renamed
        List<Path> parts = new ArrayList<>();
        List<Map<String, Long>> partTensors = new ArrayList<>(); // per part: tensor name -> bytes
        long total = 0;
        List<Arena> inMemory = new ArrayList<>(); // one per layer of the shard being filled
        SafetensorsWriter w = null;
        long inShard = 0;
        try {
            for (CheckpointLayout.Entry e : layout) {
                Arena arena = Arena.ofShared();
                List<RandomQuantization.Tensor> tensors;
                try {
                    tensors = layerTensors(e, arch, dtype, seed, quantization, arena);
                } catch (RuntimeException ex) {
                    arena.close();
                    throw ex;
                }
                long bytes = tensors.stream().mapToLong(RandomQuantization.Tensor::bytes).sum();
                if (w != null && inShard + bytes > maxShardBytes) {
                    w.write(parts.getLast());
                    w = null;
                    inMemory.forEach(Arena::close);
                    inMemory.clear();
                }
                inMemory.add(arena);
                if (w == null) {
                    w = new SafetensorsWriter().metadata("format", "pt");
                    parts.add(dir.resolve("part-" + parts.size() + ".safetensors.tmp"));
                    partTensors.add(new LinkedHashMap<>());
                    inShard = 0;
                }
                for (RandomQuantization.Tensor t : tensors) {
                    w.add(t.name(), t.dtype(), t.shape(), t.data());
                    partTensors.getLast().put(t.name(), t.bytes());
                }
                inShard += bytes;
                total += bytes;
            }
            w.write(parts.getLast());
        } finally {
            inMemory.forEach(Arena::close);
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int s = 0; s < parts.size(); s++) {
            String file = parts.size() == 1 ? "model.safetensors"
                    : String.format("model-%05d-of-%05d.safetensors", s + 1, parts.size());
            Files.move(parts.get(s), dir.resolve(file));
            for (String name : partTensors.get(s).keySet()) {
                weightMap.put(name, file);
            }
        }
        if (parts.size() > 1) {
            ObjectNode index = JSON.createObjectNode();
            index.putObject("metadata").put("total_size", total);
            ObjectNode map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            Files.writeString(dir.resolve("model.safetensors.index.json"), JSON.writeValueAsString(index));
        }
        Files.writeString(dir.resolve("config.json"), JSON.writeValueAsString(out));
        SyntheticTokenizer.write(dir, vocab, parsed.optionalInt("max_position_embeddings"));
        return parsed;
    }

    /** One layout entry's tensors: the random weight, or its quantized form. */
    private static List<RandomQuantization.Tensor> layerTensors(CheckpointLayout.Entry e, String arch, DType dtype,
            long seed, RandomQuantization quantization, Arena arena) {
        if (quantization != null && quantization.quantizes(arch, e.name())) {
            long[] shape = e.shape();
            float[] dense = new float[Math.toIntExact(e.numel())];
            long key = key(seed, e.name());
            LongStream.range(0, dense.length).parallel().forEach(i -> dense[(int) i] = valueOf(key, i));
            String module = e.name().substring(0, e.name().length() - ".weight".length());
            return quantization.quantize(module, dense, (int) shape[0], (int) shape[1], arena);
        }
        MemorySegment data = arena.allocate(e.numel() * dtype.byteSize(), 64);
        fill(data, dtype, seed, e.name(), e.numel());
        return List.of(new RandomQuantization.Tensor(e.name(), dtype, e.shape(), data));
    }
}
