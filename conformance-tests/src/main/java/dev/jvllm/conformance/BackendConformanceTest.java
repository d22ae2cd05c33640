package dev.jvllm.conformance;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.cpu.CpuBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * The JUnit 5 entry point of the conformance suite for a backend. Extend it in your backend's test
 * sources and return your backend from {@link #candidate()}:
 *
 * <pre>{@code
 * class MyBackendConformanceTest extends BackendConformanceTest {
 *     @Override
 *     protected Backend candidate() {
 *         return new MyProvider().create(BackendOptions.defaults());
 *     }
 * }
 * }</pre>
 *
 * <p>It produces one dynamic container per op and one dynamic test per case (pinned, generated,
 * and the shrunk failure). A failing case fails its test with the smallest failing case's name,
 * the seed and the comparison's message; an unsupported case is printed and marked skipped
 * (aborted), never failed; an op without a spec fails (the suite is incomplete).
 *
 * <p>System properties (each also an overridable method): {@code jvllm.conformance.op} (ids or
 * families, comma-separated), {@code jvllm.conformance.case} (regex on case names),
 * {@code jvllm.conformance.examples} (default {@value SuiteRunner#DEFAULT_EXAMPLES}),
 * {@code jvllm.conformance.seed} (default {@value SuiteRunner#DEFAULT_SEED}),
 * {@code jvllm.conformance.report} (a Markdown report file written after the run).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendConformanceTest {
    private Backend candidate;
    private Backend reference;
    private final List<SuiteRunner.OpResult> results = new ArrayList<>();
    private long startNanos;

    /** The backend under test; called once per test class and closed after the run. */
    protected abstract Backend candidate();

    /** The backend it is compared with: the CPU reference (Vector API form) unless overridden. */
    protected Backend reference() {
        return CpuBackend.create();
    }

    /** Makes connected groups of candidate ranks for the collective ops (default: its provider's groups). */
    protected IntFunction<List<Backend>> candidateGroup(Backend candidate) {
        return SuiteRunner.groupsOf(candidate.name(), BackendOptions.defaults());
    }

    /** The op filter (ids or families, comma-separated); null runs every op. */
    protected String ops() {
        return System.getProperty("jvllm.conformance.op");
    }

    /** The case-name regex; null runs every case. */
    protected String cases() {
        return System.getProperty("jvllm.conformance.case");
    }

    /** Generated cases per op (after the pinned ones). */
    protected int examples() {
        return Integer.getInteger("jvllm.conformance.examples", SuiteRunner.DEFAULT_EXAMPLES);
    }

    /** The seed of case generation and data. */
    protected long seed() {
        return Long.getLong("jvllm.conformance.seed", SuiteRunner.DEFAULT_SEED);
    }

    /** Where to write the Markdown report after the run; null writes none. */
    protected Path reportFile() {
        String p = System.getProperty("jvllm.conformance.report");
        return p == null || p.isBlank() ? null : Path.of(p);
    }

    /** Whether an op without a spec fails (true: the suite is incomplete, which counts as a failure). */
    protected boolean missingSpecFails() {
        return true;
    }

    /** Where specs come from: {@link Specs#of} (the harness's own tests substitute test specs). */
    Function<OpKind, OpSpec<?>> specLookup() {
        return Specs::of;
    }

    /** The options of this run, from the methods above. */
    protected SuiteRunner.Options options() {
        return SuiteRunner.Options.defaults().withOps(ops()).withCases(cases()).withExamples(examples())
                .withSeed(seed());
    }

    /** One container per op; its cases run when JUnit reaches the container. */
    @TestFactory
    public Stream<DynamicNode> conformance() {
        SuiteRunner.Options options = options();
        startNanos = System.nanoTime();
        return options.ops().stream().map(op -> DynamicContainer.dynamicContainer(op.id(),
                Stream.of(op).flatMap(o -> testsFor(o, options))));
    }

    private Stream<DynamicNode> testsFor(OpKind op, SuiteRunner.Options options) {
        if (candidate == null) {
            candidate = candidate();
            reference = reference();
            System.out.println("[conformance] candidate " + candidate.description() + ", reference "
                    + reference.description() + ", seed " + options.seed() + ", " + options.examples()
                    + " examples per op");
        }
        SuiteRunner.Options one = new SuiteRunner.Options(List.of(op), op.id(), options.caseFilter(),
                options.examples(), options.seed(), false, options.perfSettings());
        SuiteRunner.OpResult r = SuiteRunner.run(candidate, reference, candidateGroup(candidate), one, null,
                specLookup()).ops().getFirst();
        results.add(r);
        long seed = options.seed();
        if (r.missing()) {
            String expected = op.family() == OpKind.Family.COLLECTIVE ? SuiteRunner.COLLECTIVES_CLASS
                    : Specs.className(op);
            String msg = "the conformance suite has no spec for " + op.id() + " (expected class " + expected + ")";
            System.out.println("[conformance] " + op.id() + ": MISSING — " + msg);
            return Stream.of(DynamicTest.dynamicTest("missing spec", () -> {
                if (missingSpecFails()) {
                    Assertions.fail(msg);
                }
                Assumptions.abort(msg);
            }));
        }
        System.out.println("[conformance] " + op.id() + ": " + r.passed() + " passed, " + r.failed() + " failed, "
                + r.unsupported() + " unsupported" + (r.worst() == null ? "" : "; worst " + r.worst().describe()));
        if (r.cases().isEmpty()) {
            return Stream.of(DynamicTest.dynamicTest("no case selected",
                    () -> Assumptions.abort("no case of " + op.id() + " matches the case filter")));
        }
        return r.cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            switch (c.status()) {
                case PASS -> {
                }
                case UNSUPPORTED -> {
                    String why = c.name() + " is not supported by " + candidate.name()
                            + (c.message().isEmpty() ? "" : " (" + c.message() + ")");
                    System.out.println("[conformance]   unsupported: " + why);
                    Assumptions.abort(why);
                }
                case FAIL -> {
                    System.out.println("[conformance]   FAIL " + c.name() + ": " + c.message());
                    Assertions.fail(c.name() + " [" + c.dtype() + "] failed: " + c.message()
                            + (c.message().contains("seed " + seed) ? "" : " — seed " + seed));
                }
            }
        }));
    }

    /** Closes both backends and writes the report when one was asked for. */
    @AfterAll
    protected void finishConformance() {
        try {
            Path file = reportFile();
            if (file != null && !results.isEmpty()) {
                SuiteRunner.Result all = new SuiteRunner.Result(candidate.description(), reference.description(),
                        options(), results, (System.nanoTime() - startNanos) / 1_000_000);
                Report.write(all, file);
                System.out.println("[conformance] report written to " + file.toAbsolutePath());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the conformance report", e);
        } finally {
            if (candidate != null) {
                candidate.close();
            }
            if (reference != null) {
                reference.close();
            }
            candidate = null;
            reference = null;
        }
    }
}
