package dev.jvllm.models.runtime;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.DType;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * A model sharded over {@code tp} ranks of one provider's group (in-process threads on the CPU,
 * one GPU each on CUDA, wrapping around the devices):
 * every rank holds its shard, and {@link #run} drives all ranks at once, each on its own thread,
 * with the same inputs — the collectives inside the model keep them in step.
 */
public final class TensorParallelModel implements AutoCloseable {
    private final List<Backend> backends;
    private final List<CausalLM> ranks = new ArrayList<>();
    private final ExecutorService threads;

    private TensorParallelModel(List<Backend> backends) {
        this.backends = backends;
        this.threads = Executors.newFixedThreadPool(backends.size(), r -> {
            Thread t = new Thread(r, "jvllm-tp-rank");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Loads {@code dir} over a new group of {@code tp} ranks of {@code provider}.
     *
     * @param options per-rank backend options (e.g. threads per rank)
     */
    public static TensorParallelModel load(Path dir, BackendProvider provider, int tp, BackendOptions options,
            DType activationDType, DType weightDType) {
        return load(dir, provider, tp, options, activationDType, weightDType, ModelLoader.LoadFormat.AUTO);
    }

    /** {@link #load(Path, BackendProvider, int, BackendOptions, DType, DType)} with weights obtained as {@code format} says. */
    public static TensorParallelModel load(Path dir, BackendProvider provider, int tp, BackendOptions options,
            DType activationDType, DType weightDType, ModelLoader.LoadFormat format) {
        List<Backend> backends = provider.createGroup(tp, options);
        TensorParallelModel m = new TensorParallelModel(backends);
        try {
            m.ranks.addAll(m.runOnRanks(r -> ModelLoader.load(dir, backends.get(r),
                    new ParallelConfig(tp, r, backends.get(r).communicator()), activationDType, weightDType, format)));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    /** Number of ranks. */
    public int size() {
        return backends.size();
    }

    /**
     * Runs {@code perRank} on every rank's model concurrently; results in rank order. Waits for every
     * rank even when the calling thread is interrupted (its interrupt status is set again on return).
     */
    public <R> List<R> run(Function<CausalLM, R> perRank) {
        return runOnRanks(r -> perRank.apply(ranks.get(r)));
    }

    private <R> List<R> runOnRanks(java.util.function.IntFunction<R> task) {
        List<Future<R>> futures = new ArrayList<>();
        for (int r = 0; r < backends.size(); r++) {
            int rank = r;
            futures.add(threads.submit(() -> task.apply(rank)));
        }
        // the wait is not interruptible: the ranks run on regardless, and a caller that left now would leave
        // them mid-step (an engine step that failed here would end every request); the interrupt is kept
        List<R> out = new ArrayList<>();
        RuntimeException first = null;
        boolean interrupted = false;
        for (Future<R> f : futures) {
            while (true) {
                try {
                    out.add(f.get());
                    break;
                } catch (ExecutionException e) {
                    if (first == null) {
                        first = e.getCause() instanceof RuntimeException re ? re
                                : new IllegalStateException(e.getCause().getMessage(), e.getCause());
                    }
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (first != null) {
            throw first;
        }
        return out;
    }

    @Override
    public void close() {
        for (CausalLM m : ranks) {
            m.close();
        }
        ranks.clear();
        for (Backend b : backends) {
            b.close();
        }
        threads.shutdownNow();
    }
}
