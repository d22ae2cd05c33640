package dev.jvllm.models.layers;

import dev.jvllm.models.loader.CheckpointTensor;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A named weight slot of a layer, filled by {@link Module#loadWeights}. Like a vLLM parameter
 * with its {@code weight_loader}: the loader receives the checkpoint tensor and a shard id
 * ({@code null}, {@code "q"|"k"|"v"}, or an integer for merged layers) and takes this rank's part.
 */
public final class Param {
    /** Loads one checkpoint tensor (or one shard of a fused parameter) into the layer. */
    @FunctionalInterface
    public interface Loader {
        void load(CheckpointTensor tensor, Object shardId);
    }

    private final String name;
    private final Loader loader;
    private final List<Object> expectedShards; // e.g. ["q","k","v"]; [null] for a plain parameter
    private final boolean optional;
    private final Set<Object> loaded = new LinkedHashSet<>();

    Param(String name, Loader loader, List<Object> expectedShards, boolean optional) {
        this.name = name;
        this.loader = loader;
        this.expectedShards = expectedShards;
        this.optional = optional;
    }

    /** The full checkpoint-style name, e.g. {@code model.layers.0.self_attn.qkv_proj.weight}. */
    public String name() {
        return name;
    }

    private static final Object PLAIN = "<plain>";
    private static final Object FUSED = "<fused>";

    /**
     * Loads a tensor. For a parameter made of shards, shard id null means the checkpoint stores
     * them fused in one tensor, which fills every shard at once.
     */
    public void load(CheckpointTensor tensor, Object shardId) {
        boolean plain = expectedShards.size() == 1 && expectedShards.get(0) == null;
        Object key;
        if (plain) {
            if (shardId != null) {
                throw new IllegalArgumentException("parameter " + name + " has no shards, got shard " + shardId
                        + " from checkpoint tensor " + tensor.name());
            }
            key = PLAIN;
        } else if (shardId == null) {
            key = FUSED;
        } else if (expectedShards.contains(shardId)) {
            key = shardId;
        } else {
            throw new IllegalArgumentException("parameter " + name + " has no shard " + shardId + " (shards: "
                    + expectedShards + "); checkpoint tensor " + tensor.name());
        }
        if (loaded.contains(key) || loaded.contains(FUSED) || (key == FUSED && !loaded.isEmpty())) {
            throw new IllegalArgumentException("parameter " + name + " loaded twice (shard " + shardId
                    + ", from " + tensor.name() + " in " + tensor.file() + ")");
        }
        loader.load(tensor, shardId);
        loaded.add(key);
    }

    /**
     * Whether every expected shard (or the fused tensor) has been loaded; an optional parameter
     * (a quantized layer's tensor that checkpoints may omit) is also complete when none was.
     */
    public boolean isComplete() {
        if (optional && loaded.isEmpty()) {
            return true;
        }
        boolean plain = expectedShards.size() == 1 && expectedShards.get(0) == null;
        return plain ? loaded.contains(PLAIN) : loaded.contains(FUSED) || loaded.containsAll(expectedShards);
    }

    /** The shards still missing, for error messages. */
    public List<Object> missingShards() {
        if (isComplete()) {
            return List.of();
        }
        return expectedShards.stream().filter(s -> !loaded.contains(s)).toList();
    }
}
