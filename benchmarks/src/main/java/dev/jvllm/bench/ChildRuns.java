package dev.jvllm.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Measurements run in fresh child JVMs (so JIT state, heap and page cache do not carry from one
 * side to the next): the child prints one line {@code RESULT key=value ...}; the parent reads it.
 */
final class ChildRuns {
    /** Prefix of the one result line a child prints. */
    static final String RESULT = "RESULT ";

    private ChildRuns() {
    }

    /**
     * Runs {@code cmd}, returns the child's result line as a map; every other output line goes to
     * {@code onLine} and, when the child fails or prints no result, into the exception naming {@code what}.
     */
    static Map<String, String> run(List<String> cmd, String what, Consumer<String> onLine) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Map<String, String> result = null;
        List<String> log = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith(RESULT)) {
                    result = new LinkedHashMap<>();
                    for (String kv : line.substring(RESULT.length()).split(" ")) {
                        int eq = kv.indexOf('=');
                        result.put(kv.substring(0, eq), kv.substring(eq + 1));
                    }
                } else {
                    log.add(line);
                    onLine.accept(line);
                }
            }
        }
        int code = p.waitFor();
        if (code != 0 || result == null) {
            throw new IllegalStateException(what + " run failed (exit " + code + "):\n" + String.join("\n", log));
        }
        return result;
    }

    static double d(Map<String, String> m, String k) {
        return Double.parseDouble(m.get(k));
    }

    /** The median of key {@code k} over the rounds' results. */
    static double median(List<Map<String, String>> rs, String k) {
        double[] v = rs.stream().mapToDouble(m -> d(m, k)).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
