package dev.jvllm.engine.core;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.Tensors;
import dev.jvllm.api.ops.Argmax;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a graph-replayed decode step's time goes, on a GPU backend (not a test: a main for the GPU
 * machine). For a batch of B sequences at a context of C tokens it times, each as the mean over
 * many steps:
 * <ul>
 *   <li>{@code replay}: the step's graph replayed back to back, one synchronize at the end: the GPU
 *       time of the step's kernels (the replay launch is a few µs of host time);</li>
 *   <li>{@code runner}: {@link ModelRunner#execute} (metadata upload + replay) then argmax and the
 *       read of the ids, one synchronize per step: what the engine's step costs apart from
 *       scheduling and sampling bookkeeping;</li>
 *   <li>{@code eager}: the same step run op by op ({@code --enforce-eager}).</li>
 *   <li>{@code chained}: the GPU's ops of {@code --async-scheduling}'s steady state, enqueued one step
 *       ahead of the host's read (metadata upload, the ids copied on the device from the step
 *       before's tokens, replay, argmax, the tokens' read into pinned memory), and the same chain
 *       with one of its ops left out, so the difference to {@code replay} is what those ops cost
 *       the GPU between replays; and the engine's form, the argmax recorded at the end of the graph.</li>
 *   <li>{@code positions advancing}: the engine's form with each step one position further (the 64
 *       positions before C, in turn), as a request's decode steps run: new cos/sin rows and cache slots
 *       every step, the attention's keys growing.</li>
 * </ul>
 * With {@code --ncu}, one replay runs between {@code cuProfilerStart} and {@code cuProfilerStop}, so
 * {@code ncu --profile-from-start off --graph-profiling node} reports each kernel of one step.
 *
 * <pre>bash tools/gpu/run-tests.sh --main dev.jvllm.engine.core.DecodeStepProfile DIR [--batch B] [--context C] [--steps N] [--ncu]</pre>
 */
public final class DecodeStepProfile {
    private static final int BLOCK_SIZE = 16;

    private DecodeStepProfile() {
    }

    public static void main(String[] args) throws Throwable {
        Path dir = Path.of(args[0]);
        int batch = 1, context = 192, steps = 200;
        boolean ncu = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--context" -> context = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--ncu" -> ncu = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        BackendProvider p = Backends.byName("cuda");
        BackendProvider.Probe probe = p.probe();
        if (!probe.available()) {
            System.out.println("no usable GPU: " + probe.reason());
            return;
        }
        int blocksPerSeq = (context + BLOCK_SIZE) / BLOCK_SIZE + 1;
        final int finalBatch = batch;
        int maxModelLen = blocksPerSeq * BLOCK_SIZE;
        try (Backend be = p.create(BackendOptions.defaults());
                CausalLM model = ModelLoader.load(dir, be, ParallelConfig.single(), DType.BF16, null);
                ModelRunner graphs = new ModelRunner(ModelRanks.of(model), batch * blocksPerSeq, BLOCK_SIZE, 0, batch,
                        maxModelLen, DecodeGraphs.Mode.GRAPHS);
                ModelRunner eager = new ModelRunner(ModelRanks.of(model), batch * blocksPerSeq, BLOCK_SIZE, 0, batch,
                        maxModelLen, DecodeGraphs.Mode.EAGER)) {
            List<ModelRunner.Chunk> step = new ArrayList<>();
            for (int s = 0; s < batch; s++) {
                int[] table = new int[blocksPerSeq];
                for (int j = 0; j < blocksPerSeq; j++) {
                    table[j] = s * blocksPerSeq + j;
                }
                step.add(new ModelRunner.Chunk(new int[] {1 + s}, context - 1, table, -1, new int[] {0}));
            }
            for (int w = 0; w < 3; w++) { // eager run, capture, replay
                stepOnce(graphs, be, step);
                stepOnce(eager, be, step);
            }
            dev.jvllm.api.OpGraph graph = graphs.graphs().graphFor(step);
            if (graph == null) {
                System.out.println("no graph was captured: " + graphs.graphsOffReason());
                return;
            }
            double replay = time(steps, graph::replay, be);
            double runner = time(steps, () -> stepOnce(graphs, be, step), null);
            double eagerMs = time(Math.max(10, steps / 4), () -> stepOnce(eager, be, step), null);
            System.out.printf("decode step, batch %d, context %d: replay %.3f ms (GPU), runner+argmax+read %.3f ms,"
                    + " eager %.3f ms%n", batch, context, replay, runner, eagerMs);
            // the engine's steps advance: the same chain with each step one position further, from 64 before
            // the context's end (every step in the same captured shape), as a request's decode steps run
            List<List<ModelRunner.Chunk>> advancing = new ArrayList<>();
            for (int i = Math.max(1, context - 64); i < context; i++) {
                List<ModelRunner.Chunk> at = new ArrayList<>();
                for (ModelRunner.Chunk c : step) {
                    at.add(new ModelRunner.Chunk(c.tokens(), i, c.blockTable(), c.stateSlot(), c.logitRows()));
                }
                advancing.add(at);
            }
            for (int round = 0; round < 2; round++) {
                int[] next = {0};
                double moving = chain(be, step.size(), steps, true,
                        prev -> graphs.executeGreedy(advancing.get(next[0]++ % advancing.size()), prev));
                System.out.printf("chained per step, positions advancing (%d to %d): %.4f ms%n", context - advancing.size(),
                        context - 1, moving);
                double inGraph = chainedGreedy(graphs, be, step, steps);
                double full = chained(graphs, be, step, steps, true, true, true);
                double noIds = chained(graphs, be, step, steps, false, true, true);
                double noRead = chained(graphs, be, step, steps, true, true, false);
                double noArgmax = chained(graphs, be, step, steps, true, false, false);
                double replay2 = time(steps, graph::replay, be);
                System.out.printf("chained per step: argmax in the graph %.4f ms; argmax after it %.4f, without the ids"
                        + " copy %.4f, without the read %.4f, without argmax and read %.4f; replay %.4f ms%n", inGraph, full,
                        noIds, noRead, noArgmax, replay2);
            }
            try (Tensor logits = graphs.execute(step); Tensor ids = be.allocate(DType.I32, batch)) {
                double argmaxMs = time(steps, () -> be.argmax(new Argmax(logits, ids)), be);
                System.out.printf("argmax of %d x %d logits alone, back to back: %.1f us%n", batch, logits.cols(),
                        argmaxMs * 1e3);
            }
            // host time of the calls alone, the GPU running behind them
            be.synchronize();
            double launchUs = hostOnly(50, graph::replay, be);
            double runUs = hostOnly(50, () -> graphs.graphs().run(step, null), be);
            int[] meta = DecodeGraphs.metadata(step, batch, maxModelLen, BLOCK_SIZE);
            double metaUs = hostOnly(50, () -> DecodeGraphs.metadata(step, finalBatch, maxModelLen, BLOCK_SIZE), be);
            double writeUs;
            try (Tensor t = be.allocate(DType.I32, meta.length)) {
                writeUs = hostOnly(50, () -> Tensors.writeInts(t, meta), be);
            }
            System.out.printf("host per call: graph launch %.1f us, DecodeGraphs.run (inputs written + launch) %.1f us;"
                    + " metadata %.1f us, writeInts of %d ints %.1f us%n", launchUs, runUs, metaUs, meta.length, writeUs);
            if (ncu) {
                be.synchronize();
                MethodHandle start = profiler("cuProfilerStart"), stop = profiler("cuProfilerStop");
                int rc = (int) start.invokeExact();
                graph.replay();
                be.synchronize();
                int rc2 = (int) stop.invokeExact();
                System.out.println("profiled one replay (cuProfilerStart " + rc + ", cuProfilerStop " + rc2 + ")");
            }
        }
    }

    /**
     * Mean ms per step of {@code steps} decode steps chained as the async engine does: step i's ids
     * from step i − 1's argmax ({@code ids}), its tokens' read awaited after step i + 1 is enqueued.
     */
    private static double chained(ModelRunner r, Backend be, List<ModelRunner.Chunk> step, int steps, boolean ids,
            boolean argmax, boolean read) {
        return chain(be, step.size(), steps, read, prev -> {
            try (Tensor logits = r.execute(step, ids ? prev : null)) {
                return argmax ? Sampler.argmax(logits) : null;
            }
        });
    }

    /** {@link #chained} with the argmax recorded in the step's graph ({@link ModelRunner#executeGreedy}), as the engine runs it. */
    private static double chainedGreedy(ModelRunner r, Backend be, List<ModelRunner.Chunk> step, int steps) {
        return chain(be, step.size(), steps, true, prev -> r.executeGreedy(step, prev));
    }

    /**
     * Mean ms per step of {@code steps} calls of {@code launch} (the previous step's tokens or null →
     * this step's tokens or null), each step's tokens read ({@code read}) once the next is enqueued.
     */
    private static double chain(Backend be, int rows, int steps, boolean read,
            java.util.function.UnaryOperator<Tensor> launch) {
        be.synchronize();
        java.lang.foreign.MemorySegment host = java.lang.foreign.Arena.ofAuto().allocate(4L * rows);
        Tensor prev = null;
        dev.jvllm.api.PendingRead pending = null;
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            Tensor tokens = launch.apply(prev);
            dev.jvllm.api.PendingRead next = read && tokens != null ? be.readLater(tokens) : null;
            if (pending != null) {
                pending.await(host);
            }
            if (prev != null) {
                prev.close();
            }
            prev = tokens;
            pending = next;
        }
        if (pending != null) {
            pending.await(host);
        }
        if (prev != null) {
            prev.close();
        }
        be.synchronize();
        return (System.nanoTime() - t0) / 1e6 / steps;
    }

    private static void stepOnce(ModelRunner r, Backend be, List<ModelRunner.Chunk> step) {
        try (Tensor logits = r.execute(step); Tensor ids = be.allocate(DType.I32, step.size())) {
            be.argmax(new Argmax(logits, ids));
            Tensors.toInts(ids);
        }
    }

    /**
     * Mean host microseconds per call: rounds of 3 calls (fewer than the CUDA backend's 4 staging
     * buffers, so an upload never waits for an earlier one), each round timed before the synchronize
     * that ends it.
     */
    private static double hostOnly(int rounds, Runnable call, Backend be) {
        long total = 0;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 3; i++) {
                call.run();
            }
            total += System.nanoTime() - t0;
            be.synchronize();
        }
        return total / 1e3 / (3.0 * rounds);
    }

    /** Mean milliseconds per call over n calls; with a backend, one synchronize at the end only. */
    private static double time(int n, Runnable call, Backend syncAtEnd) {
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            call.run();
        }
        if (syncAtEnd != null) {
            syncAtEnd.synchronize();
        }
        return (System.nanoTime() - t0) / 1e6 / n;
    }

    private static MethodHandle profiler(String name) {
        return Linker.nativeLinker().downcallHandle(
                SymbolLookup.libraryLookup("libcuda.so.1", java.lang.foreign.Arena.global()).find(name).orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT));
    }
}
