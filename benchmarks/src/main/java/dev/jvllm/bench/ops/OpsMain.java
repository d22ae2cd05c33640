package dev.jvllm.bench.ops;

import dev.jvllm.bench.MachineLimits;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Runs the op benchmarks (any JMH command line: a regex, {@code -p t=1,4}, {@code -f}, {@code -wi} ...)
 * between two probes of the machine's limits in this process, and prints every result as GFLOP/s
 * and GB/s and as fractions of the FMA peak and of the read bandwidth (the mean of the probes).
 */
public final class OpsMain {
    /** {flops, bytes} of one call, per benchmark class. */
    private static final Map<String, BiFunction<String, Map<String, String>, double[]>> WORK = Map.of(
            LinearBench.class.getName(), LinearBench::work,
            AttentionBench.class.getName(), AttentionBench::work,
            RmsNormBench.class.getName(), RmsNormBench::work,
            SsdScanBench.class.getName(), SsdScanBench::work);

    private OpsMain() {
    }

    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        var given = cli.getParameter("threads"); // JMH's own Optional
        int threads = given.hasValue() ? Integer.parseInt(given.get().iterator().next()) : 0;
        if (threads <= 0) {
            threads = Runtime.getRuntime().availableProcessors();
        }
        MachineLimits.Limits before = MachineLimits.probe(threads);
        System.out.println("limits before: " + before);
        Collection<RunResult> results = new Runner(cli).run();
        MachineLimits.Limits after = MachineLimits.probe(threads);
        System.out.println("limits after:  " + after);
        MachineLimits.Limits limits = before.mean(after);
        System.out.printf(Locale.ROOT, "%nagainst the mean: FMA peak %.1f GFLOP/s, read bandwidth %.2f GB/s, %d threads%n",
                limits.fmaGflops(), limits.readGBs(), threads);
        System.out.printf("%-34s %-38s %11s %9s %8s %9s %8s%n", "benchmark", "params", "us/call", "GFLOP/s", "%peak",
                "GB/s", "%bw");
        List<RunResult> sorted = new ArrayList<>(results);
        sorted.sort((a, b) -> a.getParams().id().compareTo(b.getParams().id()));
        for (RunResult r : sorted) {
            String bench = r.getParams().getBenchmark();
            String cls = bench.substring(0, bench.lastIndexOf('.'));
            String method = bench.substring(bench.lastIndexOf('.') + 1);
            Map<String, String> params = new TreeMap<>();
            for (String k : r.getParams().getParamsKeys()) {
                params.put(k, r.getParams().getParam(k));
            }
            double us = r.getPrimaryResult().getScore();
            double[] work = WORK.getOrDefault(cls, (m, p) -> new double[] {0, 0}).apply(method, params);
            double gflops = work[0] / (us * 1e3), gbs = work[1] / (us * 1e3);
            params.remove("threads");
            System.out.printf(Locale.ROOT, "%-34s %-38s %11.1f %9.1f %7.1f%% %9.2f %7.1f%%%n",
                    cls.substring(cls.lastIndexOf('.') + 1) + "." + method, params, us, gflops,
                    100 * gflops / limits.fmaGflops(), gbs, 100 * gbs / limits.readGBs());
        }
    }
}
