package dev.jvllm.cuda;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * For timing only: {@code -Djvllm.cuda.skipKernels=SPEC,SPEC,...} leaves the matching kernel launches
 * out of captured graphs, so that a replay without them shows what they cost inside the chain of a
 * decode step (docs/performance.md, run 11; {@code DecodeStepProfile}). The graph's outputs are wrong
 * while it is set, and each CUDA backend says so on stderr when it is created. A SPEC is a kernel-name
 * prefix ({@code norm_rms}), optionally followed by {@code %m=r} (only the launches of that prefix whose
 * ordinal is r modulo m) or {@code #i} (only ordinal i), ordinals counting each kernel name's captured
 * launches from the backend's first capture: in a profile that captures one batch-1 Llama step,
 * {@code linear_gemv%4=2} is every layer's gate/up projection and {@code linear_gemv#64} the LM head.
 */
final class KernelSkips {
    private record Spec(String prefix, int modulus, int ordinal) {
        boolean matches(String name, int n) {
            return name.startsWith(prefix) && (modulus == 0 ? ordinal < 0 || n == ordinal : n % modulus == ordinal);
        }
    }

    private final List<Spec> specs;
    private final Map<String, Integer> ordinals = new HashMap<>();

    /** Parses a comma list as described above; a malformed SPEC fails, naming it. */
    KernelSkips(String list) {
        specs = list.isBlank() ? List.of() : java.util.Arrays.stream(list.split(",")).map(String::trim)
                .filter(s -> !s.isEmpty()).map(KernelSkips::parse).toList();
    }

    private static Spec parse(String s) {
        try {
            int mod = s.indexOf('%'), at = s.indexOf('#');
            if (mod > 0) {
                String[] mr = s.substring(mod + 1).split("=", -1);
                int m = Integer.parseInt(mr[0]), r = Integer.parseInt(mr[1]);
                if (mr.length == 2 && m > 0 && r >= 0 && r < m) {
                    return new Spec(s.substring(0, mod), m, r);
                }
            } else if (at > 0) {
                int i = Integer.parseInt(s.substring(at + 1));
                if (i >= 0) {
                    return new Spec(s.substring(0, at), 0, i);
                }
            } else if (!s.contains("=")) {
                return new Spec(s, 0, -1);
            }
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // reported below
        }
        throw new IllegalArgumentException("-Djvllm.cuda.skipKernels: bad entry '" + s
                + "'; give kernel-name prefixes, each optionally with %m=r (0 <= r < m) or #i");
    }

    boolean isEmpty() {
        return specs.isEmpty();
    }

    /** Counts one captured launch of {@code kernel} and says whether to leave it out. */
    boolean skip(String kernel) {
        int n = ordinals.merge(kernel, 1, Integer::sum) - 1;
        for (Spec s : specs) {
            if (s.matches(kernel, n)) {
                return true;
            }
        }
        return false;
    }
}
