package dev.jvllm.engine.cli;

import dev.jvllm.api.Backend;
import dev.jvllm.api.BackendOptions;
import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.conformance.Conformance;
import dev.jvllm.conformance.Report;
import dev.jvllm.conformance.Specs;
import dev.jvllm.conformance.SuiteRunner;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntFunction;

/**
 * {@code jvllm conformance}: runs the conformance suite with a backend as the candidate and the CPU
 * reference as the reference, prints one line per op (and every failure), optionally writes the
 * Markdown report, and exits 0 only when nothing failed and no op lacks a spec.
 *
 * <p>For {@code --backend cpu} the candidate is the CPU backend's Vector API form and the reference
 * its scalar form (option {@code scalar=true}); for any other backend the reference is the CPU
 * Vector API form.
 */
public final class ConformanceCommand implements Command {

    @Override
    public String name() {
        return "conformance";
    }

    @Override
    public String summary() {
        return "run the backend conformance suite against a backend";
    }

    @Override
    public String usage() {
        return """
                usage: jvllm conformance [--backend NAME] [--op X] [--case REGEX] [--examples N] [--seed S]
                                         [--threads N] [--perf] [--report FILE.md]

                Runs every op's conformance cases (pinned edge cases, then N generated ones; a failure
                is shrunk to the smallest failing case) on the backend and compares each with the CPU
                reference. Unsupported cases are listed, not failed.

                  --backend NAME   the backend under test (default: -Djvllm.backend, else the best
                                   available); for cpu, the Vector API form is checked against the
                                   scalar form, for any other backend against the CPU Vector API form
                  --op X           ops to run: ids or families, comma-separated
                                   (rms_norm, paged_attention, norm, attention, mamba2, collective, ...)
                  --case REGEX     only cases whose name matches, e.g. 'bf16' or 'T=1,'
                  --examples N     generated cases per op (default %d)
                  --seed S         seed of generation and data (default: a fresh one, printed)
                  --threads N      worker threads of the backends (default: the backend's own)
                  --perf           also time every supported case on the candidate (µs, GFLOP/s, GB/s)
                  --report FILE    write the Markdown report (support matrix, failures, perf) to FILE

                Exit code: 0 when nothing failed and every op has a spec, 1 otherwise, 2 on bad usage.
                """.formatted(SuiteRunner.DEFAULT_EXAMPLES).stripTrailing();
    }

    @Override
    public int run(List<String> argv, PrintStream out, PrintStream err) throws Exception {
        Args a = Args.parse(argv, Set.of("--perf"),
                Set.of("--backend", "--op", "--case", "--examples", "--seed", "--threads", "--report"));
        a.requirePositionals(0, 0, "");
        int examples = a.intValue("--examples", SuiteRunner.DEFAULT_EXAMPLES);
        if (examples < 0) {
            throw new UsageException("--examples must be >= 0, got " + examples);
        }
        int threads = a.intValue("--threads", 0);
        if (threads < 0) {
            throw new UsageException("--threads must be >= 0, got " + threads);
        }
        // a fresh seed per run explores new cases; it is printed (and in the report) to reproduce the run
        long seed = a.value("--seed") == null ? ThreadLocalRandom.current().nextLong(1, 1L << 31)
                : parseSeed(a.value("--seed"));
        SuiteRunner.Options options;
        try {
            options = SuiteRunner.Options.defaults().withOps(a.value("--op")).withCases(a.value("--case"))
                    .withExamples(examples).withSeed(seed).withPerf(a.has("--perf"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Path report = a.value("--report") == null ? null : Path.of(a.value("--report"));

        BackendProvider provider = provider(a.value("--backend"));
        BackendProvider.Probe probe = provider.probe();
        if (!probe.available()) {
            err.println("jvllm conformance: backend \"" + provider.name() + "\" is unavailable: " + probe.reason());
            return 1;
        }
        BackendOptions opts = threads > 0 ? BackendOptions.defaults().withThreads(threads) : BackendOptions.defaults();
        boolean cpu = provider.name().equalsIgnoreCase("cpu");
        try (Backend candidate = provider.create(opts);
                Backend reference = cpu ? provider.create(opts.with("scalar", "true"))
                        : Backends.byName("cpu").create(opts)) {
            IntFunction<List<Backend>> groups = n -> provider.createGroup(n, opts);
            out.println("conformance: candidate " + candidate.description());
            out.println("             reference " + reference.description());
            out.println("             seed " + seed + " (rerun with --seed " + seed + "), " + examples
                    + " generated examples per op, " + options.ops().size() + " op(s)"
                    + (options.caseFilter() == null ? "" : ", cases matching /" + options.caseFilter().pattern() + "/")
                    + (options.perf() ? ", perf mode" : ""));
            out.println();
            SuiteRunner.Result r = SuiteRunner.run(candidate, reference, groups, options, new Progress(out));
            out.println();
            out.println((r.ok() ? "PASS: " : "FAIL: ") + r.summary());
            if (r.missing() > 0) {
                out.println("(an op without a spec fails the suite)");
            }
            if (report != null) {
                Report.write(r, report);
                out.println("report: " + report.toAbsolutePath());
            }
            return r.ok() ? 0 : 1;
        }
    }

    private static long parseSeed(String s) throws UsageException {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--seed needs an integer, got \"" + s + "\"");
        }
    }

    /** The provider named by --backend, else by -Djvllm.backend, else the best available. */
    private static BackendProvider provider(String name) throws UsageException {
        String chosen = name == null || name.isBlank() ? System.getProperty(Backends.PROPERTY) : name;
        if (chosen == null || chosen.isBlank()) {
            return Backends.best();
        }
        try {
            return Backends.byName(chosen);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** Prints one line per op as it finishes, and each failure under it. */
    private record Progress(PrintStream out) implements SuiteRunner.Listener {
        @Override
        public void opFinished(SuiteRunner.OpResult r) {
            String id = String.format(Locale.ROOT, "%-24s", r.op().id());
            if (r.missing()) {
                out.println(id + "MISSING  the suite has no spec for this op (expected class "
                        + (r.op().family() == OpKind.Family.COLLECTIVE ? SuiteRunner.COLLECTIVES_CLASS
                                : Specs.className(r.op())) + ")");
                return;
            }
            String status = r.failed() > 0 ? "FAIL   " : r.passed() > 0 ? "ok     " : r.unsupported() > 0
                    ? "unsupp." : "-      ";
            out.println(id + status + "  " + r.passed() + " passed, " + r.failed() + " failed, " + r.unsupported()
                    + " unsupported" + (r.worst() == null ? "" : "; worst " + r.worst().describe()));
            for (Conformance.CaseResult c : r.cases()) {
                if (c.status() == Conformance.Status.FAIL) {
                    out.println("    FAIL " + c.name() + ": " + c.message());
                }
            }
        }
    }
}
