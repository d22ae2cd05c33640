package dev.jvllm.conformance;

import dev.jvllm.api.ops.OpKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The Markdown report of a {@link SuiteRunner.Result}: a header (backends, seed, filters, totals),
 * the support matrix op × dtype × pass/fail/unsupported/missing, per-op counts with the worst error
 * against its tolerance, every failure with its shrunk case and seed, and in perf mode µs, GFLOP/s
 * and GB/s per case.
 */
public final class Report {
    /** Dtype columns first in this order, then any others in the order they appear. */
    private static final List<String> DTYPE_ORDER = List.of("f32", "bf16", "f16");

    private Report() {
    }

    /** Writes {@link #markdown} to {@code file} (UTF-8), creating parent directories. */
    public static void write(SuiteRunner.Result r, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, markdown(r), StandardCharsets.UTF_8);
    }

    /** The whole report. */
    public static String markdown(SuiteRunner.Result r) {
        StringBuilder sb = new StringBuilder();
        header(sb, r);
        matrix(sb, r);
        perOp(sb, r);
        failures(sb, r);
        if (r.options().perf()) {
            perf(sb, r);
        }
        return sb.toString();
    }

    private static void header(StringBuilder sb, SuiteRunner.Result r) {
        SuiteRunner.Options o = r.options();
        sb.append("# jvllm conformance report\n\n");
        sb.append("| | |\n|---|---|\n");
        row(sb, "result", (r.ok() ? "**PASS**" : "**FAIL**") + ": " + r.passed() + " passed, " + r.failed() + " failed, "
                + r.unsupported() + " unsupported, " + r.missing() + " op(s) missing a spec");
        row(sb, "candidate", r.candidate());
        row(sb, "reference", r.reference());
        row(sb, "seed", o.seed() + " (reproduce with `--seed " + o.seed() + "`)");
        row(sb, "generated examples per op", Integer.toString(o.examples()));
        row(sb, "ops", o.opFilter() == null ? "all (" + r.ops().size() + ")"
                : "`--op " + o.opFilter() + "` (" + r.ops().size() + ")");
        if (o.caseFilter() != null) {
            row(sb, "cases", "`--case " + o.caseFilter().pattern() + "`");
        }
        row(sb, "time", String.format(Locale.ROOT, "%.1f s", r.millis() / 1000.0));
        sb.append('\n');
    }

    private static void matrix(StringBuilder sb, SuiteRunner.Result r) {
        Set<String> dtypes = new LinkedHashSet<>();
        Set<String> seen = new LinkedHashSet<>();
        for (SuiteRunner.OpResult op : r.ops()) {
            op.cases().forEach(c -> seen.add(c.dtype()));
        }
        DTYPE_ORDER.stream().filter(seen::contains).forEach(dtypes::add);
        seen.stream().filter(d -> !d.equals("-")).forEach(dtypes::add);
        if (seen.contains("-")) {
            dtypes.add("-");
        }
        sb.append("## Support matrix\n\n");
        sb.append("✅ n: n cases passed · ❌ f/n: f of n run cases failed · ⚪ u: u cases the candidate does not"
                + " support (not a failure) · ❓ missing: the suite has no spec for this op (fails the suite) ·"
                + " – : no case selected.\n\n");
        sb.append("| op | family | status |");
        dtypes.forEach(d -> sb.append(' ').append(d).append(" |"));
        sb.append("\n|---|---|---|");
        dtypes.forEach(d -> sb.append("---|"));
        sb.append('\n');
        for (SuiteRunner.OpResult op : r.ops()) {
            sb.append("| ").append(op.op().id()).append(" | ").append(op.op().family().name().toLowerCase(Locale.ROOT))
                    .append(" | ").append(status(op)).append(" |");
            for (String d : dtypes) {
                int p = 0, f = 0, u = 0;
                for (Conformance.CaseResult c : op.cases()) {
                    if (c.dtype().equals(d)) {
                        switch (c.status()) {
                            case PASS -> p++;
                            case FAIL -> f++;
                            case UNSUPPORTED -> u++;
                        }
                    }
                }
                sb.append(' ').append(cell(p, f, u)).append(" |");
            }
            sb.append('\n');
        }
        sb.append('\n');
    }

    private static String status(SuiteRunner.OpResult op) {
        if (op.missing()) {
            return "❓ missing";
        }
        if (op.failed() > 0) {
            return "❌ fail";
        }
        if (op.passed() > 0) {
            return op.unsupported() > 0 ? "✅ pass (partial support)" : "✅ pass";
        }
        return op.unsupported() > 0 ? "⚪ unsupported" : "–";
    }

    private static String cell(int p, int f, int u) {
        List<String> parts = new ArrayList<>();
        if (f > 0) {
            parts.add("❌ " + f + "/" + (p + f));
        } else if (p > 0) {
            parts.add("✅ " + p);
        }
        if (u > 0) {
            parts.add("⚪ " + u);
        }
        return parts.isEmpty() ? "" : String.join(" ", parts);
    }

    private static void perOp(StringBuilder sb, SuiteRunner.Result r) {
        sb.append("## Per op\n\n");
        sb.append("Worst error: the compared case farthest from the reference relative to its tolerance"
                + " (NMSE, max |Δ| against atol + rtol·|ref|, or bit-exact), with its share of the tolerance.\n\n");
        sb.append("| op | pass | fail | unsupported | worst error | in case | spec |\n");
        sb.append("|---|---:|---:|---:|---|---|---|\n");
        for (SuiteRunner.OpResult op : r.ops()) {
            sb.append("| ").append(op.op().id()).append(" | ");
            if (op.missing()) {
                sb.append("– | – | – | ❓ no spec | | ").append(expectedSpec(op.op())).append(" |\n");
                continue;
            }
            sb.append(op.passed()).append(" | ").append(op.failed()).append(" | ").append(op.unsupported()).append(" | ")
                    .append(op.worst() == null ? "" : esc(op.worst().describe())).append(" | ")
                    .append(op.worstCase() == null || op.worst() == null || op.worst().ratio() == 0 ? ""
                            : "`" + esc(op.worstCase()) + "`").append(" | ")
                    .append(op.spec() == null ? "" : "`" + simpleName(op.spec()) + "`").append(" |\n");
        }
        sb.append('\n');
    }

    private static String expectedSpec(OpKind op) {
        return op.family() == OpKind.Family.COLLECTIVE ? "expected `" + simpleName(SuiteRunner.COLLECTIVES_CLASS) + "`"
                : "expected `" + simpleName(Specs.className(op)) + "`";
    }

    private static void failures(StringBuilder sb, SuiteRunner.Result r) {
        List<SuiteRunner.OpResult> failing = r.ops().stream().filter(o -> o.failed() > 0).toList();
        List<SuiteRunner.OpResult> missing = r.ops().stream().filter(SuiteRunner.OpResult::missing).toList();
        if (failing.isEmpty() && missing.isEmpty()) {
            return;
        }
        sb.append("## Failures\n\n");
        for (SuiteRunner.OpResult op : failing) {
            for (Conformance.CaseResult c : op.cases()) {
                if (c.status() != Conformance.Status.FAIL) {
                    continue;
                }
                sb.append("### ").append(op.op().id()).append(": `").append(esc(c.name())).append("` (")
                        .append(c.dtype()).append(")\n\n");
                sb.append("```\n").append(c.message().replace("```", "'''")).append("\n```\n\n");
                sb.append("Rerun: `--op ").append(op.op().id()).append(" --seed ").append(r.options().seed())
                        .append(" --examples ").append(r.options().examples()).append("`\n\n");
            }
        }
        if (!missing.isEmpty()) {
            sb.append("### Missing specs\n\n");
            for (SuiteRunner.OpResult op : missing) {
                sb.append("- ").append(op.op().id()).append(": ").append(expectedSpec(op.op())).append('\n');
            }
            sb.append('\n');
        }
    }

    private static void perf(StringBuilder sb, SuiteRunner.Result r) {
        sb.append("## Performance (candidate)\n\n");
        sb.append("Mean wall time per call after warmup; GFLOP/s and GB/s from each spec's flop and byte counts"
                + " (blank when the spec gives none).\n\n");
        sb.append("| op | case | dtype | µs | GFLOP/s | GB/s | calls |\n");
        sb.append("|---|---|---|---:|---:|---:|---:|\n");
        for (SuiteRunner.OpResult op : r.ops()) {
            for (Perf.Timing t : op.timings()) {
                if (t.error() != null) {
                    sb.append("| ").append(t.op()).append(" | `").append(esc(t.name())).append("` | ").append(t.dtype())
                            .append(" | ").append(esc(t.error())).append(" | | | |\n");
                    continue;
                }
                sb.append("| ").append(t.op()).append(" | `").append(esc(t.name())).append("` | ").append(t.dtype())
                        .append(" | ").append(fmt(t.micros())).append(" | ").append(t.gflops() > 0 ? fmt(t.gflops()) : "")
                        .append(" | ").append(t.gbps() > 0 ? fmt(t.gbps()) : "").append(" | ").append(t.iterations())
                        .append(" |\n");
            }
        }
        sb.append('\n');
    }

    private static String fmt(double v) {
        if (v >= 100) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (v >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.3g", v);
    }

    private static void row(StringBuilder sb, String k, String v) {
        sb.append("| ").append(k).append(" | ").append(esc(v)).append(" |\n");
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    /** Escapes table-breaking characters. */
    private static String esc(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }
}
