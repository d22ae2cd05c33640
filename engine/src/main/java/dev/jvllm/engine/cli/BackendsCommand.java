package dev.jvllm.engine.cli;

import dev.jvllm.api.BackendProvider;
import dev.jvllm.api.Backends;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.Set;

/** {@code jvllm backends}: every backend provider on the class path, whether it is available, and why not. */
public final class BackendsCommand implements Command {

    @Override
    public String name() {
        return "backends";
    }

    @Override
    public String summary() {
        return "list the backends found on the class path, whether each is available, and why not";
    }

    @Override
    public String usage() {
        return """
                usage: jvllm backends

                Lists every backend provider found through ServiceLoader with its name,
                priority (the highest available one is used by default), whether it is
                available on this machine, and the reason its probe gave.
                Choose one with --backend NAME or -Djvllm.backend=NAME.""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Args.parse(args, Set.of(), Set.of()).requirePositionals(0, 0, "");
        List<BackendProvider> providers;
        try {
            providers = Backends.providers();
        } catch (ServiceConfigurationError e) {
            err.println("jvllm backends: a backend provider failed to load: " + e.getMessage());
            return 1;
        }
        if (providers.isEmpty()) {
            out.println("no backend providers found");
            out.println("(a backend is found through META-INF/services/dev.jvllm.api.BackendProvider on the class path)");
            return 0;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "PRIORITY", "AVAILABLE", "REASON"});
        for (BackendProvider p : providers) {
            String available;
            String reason;
            try {
                BackendProvider.Probe probe = p.probe();
                available = probe.available() ? "yes" : "no";
                reason = probe.reason();
            } catch (RuntimeException | LinkageError e) { // probes must not throw; report it if one does
                available = "no";
                reason = "probe failed: " + e;
            }
            rows.add(new String[] {p.name(), Integer.toString(p.priority()), available, reason});
        }
        int[] width = new int[3];
        for (String[] r : rows) {
            for (int c = 0; c < width.length; c++) {
                width[c] = Math.max(width[c], r[c].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int c = 0; c < width.length; c++) {
                sb.append(r[c]).append(" ".repeat(width[c] - r[c].length() + 2));
            }
            sb.append(r[3]);
            out.println(sb.toString().stripTrailing());
        }
        return 0;
    }
}
