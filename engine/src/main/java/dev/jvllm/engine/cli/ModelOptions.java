package dev.jvllm.engine.cli;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.api.DType;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import dev.jvllm.models.runtime.TensorParallelModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * The options every model-running subcommand shares ({@code --model}, {@code --backend},
 * {@code --tensor-parallel-size}, {@code --dtype}, {@code --threads}) and loading the model they name.
 */
record ModelOptions(Path model, String backend, int tensorParallelSize, String dtype, int threads,
        ModelLoader.LoadFormat loadFormat) {
    static final Set<String> VALUE_OPTIONS = Set.of("--model", "--backend", "--tensor-parallel-size", "--dtype",
            "--threads", "--load-format");
    static final String USAGE = """
              --model DIR                 a Hugging Face checkpoint directory (config.json + *.safetensors)
              --backend NAME              cpu, cuda, ... (default: -Djvllm.backend, else the best available)
              --tensor-parallel-size N    shard the model over N ranks (default 1)
              --dtype auto|f32|bf16       auto: weights as stored, f32 activations on the CPU (default auto)
              --threads N                 CPU threads per rank (default: all cores, split over the ranks)
              --load-format auto|dummy    dummy: random weights from config.json alone (vLLM's; see save-random)""";

    static ModelOptions from(Args a) throws Command.UsageException {
        String model = a.value("--model");
        if (model == null) {
            throw new Command.UsageException("--model DIR is required");
        }
        Path dir = Path.of(model);
        if (!Files.isDirectory(dir)) {
            throw new Command.UsageException("--model " + model + " is not a directory (a Hugging Face checkpoint "
                    + "directory with config.json and *.safetensors)");
        }
        int tp = a.intValue("--tensor-parallel-size", 1);
        if (tp < 1) {
            throw new Command.UsageException("--tensor-parallel-size must be >= 1, got " + tp);
        }
        String dtype = a.value("--dtype", "auto");
        if (!List.of("auto", "f32", "bf16").contains(dtype)) {
            throw new Command.UsageException("--dtype must be auto, f32 or bf16, got " + dtype);
        }
        ModelLoader.LoadFormat format = switch (a.value("--load-format", "auto")) {
            case "auto" -> ModelLoader.LoadFormat.AUTO;
            case "dummy" -> ModelLoader.LoadFormat.DUMMY;
            default -> throw new Command.UsageException("--load-format must be auto or dummy, got "
                    + a.value("--load-format"));
        };
        return new ModelOptions(dir, a.value("--backend"), tp, dtype, a.intValue("--threads", 0), format);
    }

    /** Activations: f32 unless bf16 was asked for. */
    DType activationDType() {
        return dtype.equals("bf16") ? DType.BF16 : DType.F32;
    }

    /** Weights: as stored for auto, else converted. */
    DType weightDType() {
        return switch (dtype) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> null;
        };
    }

    /**
     * Loads the model (over {@code --tensor-parallel-size} ranks) and runs {@code f} with a runner
     * on every rank; returns rank 0's result (the ranks compute the same tokens and logits).
     */
    <R> R run(int maxTokens, Function<SimpleRunner, R> f) {
        BackendProvider provider = resolveProvider();
        if (tensorParallelSize == 1) {
            BackendOptions o = BackendOptions.defaults().withThreads(threads);
            try (Backend b = Backends.select(provider.name(), o);
                 CausalLM m = ModelLoader.load(model, b, ParallelConfig.single(), activationDType(), weightDType(),
                         loadFormat);
                 SimpleRunner r = new SimpleRunner(m, maxTokens)) {
                return f.apply(r);
            }
        }
        int perRank = threads > 0 ? threads
                : Math.max(1, Runtime.getRuntime().availableProcessors() / tensorParallelSize);
        try (TensorParallelModel tpm = TensorParallelModel.load(model, provider, tensorParallelSize,
                BackendOptions.defaults().withThreads(perRank), activationDType(), weightDType(), loadFormat)) {
            return tpm.run(m -> {
                try (SimpleRunner r = new SimpleRunner(m, maxTokens)) {
                    return f.apply(r);
                }
            }).get(0);
        }
    }

    private BackendProvider resolveProvider() {
        String name = backend;
        if (name == null || name.isBlank()) {
            name = System.getProperty(Backends.PROPERTY);
        }
        BackendProvider p = name == null || name.isBlank() ? Backends.best() : Backends.byName(name);
        BackendProvider.Probe probe = p.probe();
        if (!probe.available()) {
            throw new IllegalStateException("backend \"" + p.name() + "\" is unavailable: " + probe.reason());
        }
        return p;
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
