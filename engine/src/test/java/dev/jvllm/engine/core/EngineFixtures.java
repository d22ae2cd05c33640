package dev.jvllm.engine.core;

import dev.jvllm.api.Backend;
import dev.jvllm.api.DType;
import dev.jvllm.cpu.CpuBackend;
import dev.jvllm.models.CausalLM;
import dev.jvllm.models.layers.ParallelConfig;
import dev.jvllm.models.runtime.ModelLoader;
import dev.jvllm.models.runtime.SimpleRunner;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** The models' committed tiny checkpoints, loaded once per test JVM, and reference runs over them. */
final class EngineFixtures {
    static final Backend CPU = CpuBackend.create();
    private static final Map<String, CausalLM> MODELS = new HashMap<>();

    private EngineFixtures() {
    }

    /** A CUDA backend on device 0; the calling test is skipped with the provider's reason where there is none. */
    static Backend cudaOrSkip() {
        dev.jvllm.api.BackendProvider p = dev.jvllm.api.Backends.byName("cuda");
        dev.jvllm.api.BackendProvider.Probe probe = p.probe();
        org.junit.jupiter.api.Assumptions.assumeTrue(probe.available(), () -> "no usable GPU: " + probe.reason());
        return p.create(dev.jvllm.api.BackendOptions.defaults());
    }

    static Path dir(String arch) {
        return Path.of("../models/src/test/resources/fixtures", arch);
    }

    /** The fixture's model (vocab 384), shared by the tests of this JVM. */
    static synchronized CausalLM model(String arch) {
        return MODELS.computeIfAbsent(arch, a -> ModelLoader.load(dir(a), CPU, ParallelConfig.single(), DType.F32, null));
    }

    /** Greedy continuation of one prompt alone through the model layer's single-sequence runner. */
    static int[] reference(String arch, int[] prompt, int n) {
        try (SimpleRunner r = new SimpleRunner(model(arch), prompt.length + n)) {
            return r.greedy(prompt, n);
        }
    }

    /** An engine over the fixture (no tokenizer); EOS off unless given. */
    static EngineCore engine(String arch, EngineOptions o, Integer... eos) {
        return EngineCore.create(model(arch), null, List.of(eos), o);
    }

    static int[] randomPrompt(Random r, int length) {
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 3 + r.nextInt(380);
        }
        return p;
    }

    /** Runs every queued request to the end; the token ids of each completion, by "requestId/index". */
    static Map<String, List<Integer>> drain(EngineCore core) {
        Map<String, List<Integer>> out = new HashMap<>();
        int guard = 0;
        while (core.hasUnfinished()) {
            for (CompletionDelta d : core.step()) {
                List<Integer> l = out.computeIfAbsent(d.requestId() + "/" + d.index(), k -> new ArrayList<>());
                for (int t : d.newTokenIds()) {
                    l.add(t);
                }
            }
            if (++guard > 100_000) {
                throw new AssertionError("engine does not finish");
            }
        }
        return out;
    }

    static int[] ints(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }
}
