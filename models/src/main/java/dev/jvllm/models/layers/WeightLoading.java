package dev.jvllm.models.layers;

import dev.jvllm.models.loader.CheckpointTensor;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * vLLM's {@code load_weights}: checkpoint names → parameters, with stacked-parameter mapping
 * (q/k/v → qkv_proj, gate/up → gate_up_proj) and strictness: an unknown name or a parameter left
 * (partly) unloaded fails with the full list.
 */
public final class WeightLoading {
    private WeightLoading() {
    }

    /**
     * One stacked-parameter rule: a checkpoint name containing {@code checkpointPart} loads shard
     * {@code shardId} of the parameter named with {@code paramPart} instead, e.g.
     * {@code (".qkv_proj", ".q_proj", "q")}.
     */
    public record Stacked(String paramPart, String checkpointPart, Object shardId) {
    }

    /**
     * Loads every tensor into {@code root}'s parameters.
     *
     * @param skip names to ignore (rotary buffers, a tied lm_head, ...)
     * @return the names of the parameters loaded
     * @throws IllegalArgumentException listing unknown checkpoint tensors and missing parameters
     */
    public static Set<String> load(Module root, Iterable<CheckpointTensor> weights, List<Stacked> stacked,
            Predicate<String> skip) {
        Map<String, Param> params = root.parameters();
        List<String> unknown = new ArrayList<>();
        Set<String> loaded = new LinkedHashSet<>();
        for (CheckpointTensor w : weights) {
            String name = w.name();
            if (skip.test(name)) {
                continue;
            }
            String target = name;
            Object shard = null;
            // a rule applies only where its target exists (MoE experts keep their own gate_proj/up_proj)
            for (Stacked s : stacked) {
                if (name.contains(s.checkpointPart())) {
                    String mapped = name.replace(s.checkpointPart(), s.paramPart());
                    if (params.containsKey(mapped)) {
                        target = mapped;
                        shard = s.shardId();
                        break;
                    }
                }
            }
            Param p = params.get(target);
            if (p == null) {
                unknown.add(name + (target.equals(name) ? "" : " (as " + target + ")"));
                continue;
            }
            try {
                p.load(w, shard);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("loading " + name + " from " + w.file() + ": " + e.getMessage(), e);
            }
            loaded.add(p.name());
        }
        List<String> missing = new ArrayList<>();
        for (Param p : params.values()) {
            if (!p.isComplete()) {
                missing.add(p.name() + (p.missingShards().equals(java.util.Collections.singletonList(null)) ? ""
                        : " (shards " + p.missingShards() + ")"));
            }
        }
        if (!unknown.isEmpty() || !missing.isEmpty()) {
            StringBuilder sb = new StringBuilder("checkpoint does not match the model:");
            if (!unknown.isEmpty()) {
                sb.append("\n  tensors the model has no parameter for: ").append(unknown);
            }
            if (!missing.isEmpty()) {
                sb.append("\n  parameters missing from the checkpoint: ").append(missing);
            }
            throw new IllegalArgumentException(sb.toString());
        }
        return loaded;
    }
}
