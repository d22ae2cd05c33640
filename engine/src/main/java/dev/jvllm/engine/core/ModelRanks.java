package dev.jvllm.engine.core;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.TensorParallelModel;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * The model on its tensor-parallel ranks (one rank without tensor parallelism), driven all at
 * once: every rank gets the same batch, the collectives inside the model keep them in step, and
 * every rank ends with the same logits.
 */
public final class ModelRanks implements AutoCloseable {
    private final List<CausalLM> models;      // by rank
    private final TensorParallelModel group;  // null for one rank
    private final AutoCloseable owned;        // what close() frees: the group, or the model and its backend

    private ModelRanks(List<CausalLM> models, TensorParallelModel group, AutoCloseable owned) {
        this.models = models;
        this.group = group;
        this.owned = owned;
    }

    /** Loads {@code dir} as the options say (backend, dtype, threads, tensor-parallel size). */
    public static ModelRanks load(Path dir, EngineOptions o) {
        int tp = o.tensorParallelSize();
        if (tp == 1) {
            Backend b = Backends.select(o.backend(), BackendOptions.defaults().withThreads(o.threads()));
            try {
                CausalLM m = ModelLoader.load(dir, b, ParallelConfig.single(), o.activationDType(b.name()),
                        o.weightDType(), o.loadFormat());
                return new ModelRanks(List.of(m), null, () -> {
                    m.close();
                    b.close();
                });
            } catch (RuntimeException e) {
                b.close();
                throw e;
            }
        }
        String name = o.backend() == null || o.backend().isBlank() ? System.getProperty(Backends.PROPERTY) : o.backend();
        BackendProvider p = name == null || name.isBlank() ? Backends.best() : Backends.byName(name);
        BackendProvider.Probe probe = p.probe();
        if (!probe.available()) {
            throw new IllegalStateException("backend \"" + p.name() + "\" is unavailable: " + probe.reason());
        }
        int perRank = o.threads() > 0 ? o.threads() : Math.max(1, Runtime.getRuntime().availableProcessors() / tp);
        TensorParallelModel g = TensorParallelModel.load(dir, p, tp, BackendOptions.defaults().withThreads(perRank),
                o.activationDType(p.name()), o.weightDType(), o.loadFormat());
        try {
            List<CausalLM> byRank = g.run(m -> m); // run() answers in rank order
            return new ModelRanks(byRank, g, g);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** One already loaded model; close() leaves it open (its owner closes it). */
    static ModelRanks of(CausalLM model) {
        return new ModelRanks(List.of(model), null, () -> { });
    }

    int size() {
        return models.size();
    }

    /** The rank-0 model (its config, backend and logits). */
    CausalLM first() {
        return models.get(0);
    }

    /** Rank r's model. */
    CausalLM rank(int r) {
        return models.get(r);
    }

    /** Runs {@code perRank} on every rank at once (each on its own thread when there are several); results by rank. */
    public <R> List<R> run(Function<CausalLM, R> perRank) {
        if (group == null) {
            return java.util.Collections.singletonList(perRank.apply(models.get(0)));
        }
        return group.run(perRank);
    }

    @Override
    public void close() {
        try {
            owned.close();
        } catch (Exception e) {
            throw new IllegalStateException("closing the model: " + e.getMessage(), e);
        }
    }
}
