package dev.jvllm.conformance;

import dev.jvllm.api.ops.OpArgs;
import java.util.List;

/**
 * One case built on one backend: the op's args, the outputs to compare, and the builder that
 * owns every tensor (closed after the comparison) and knows the canaries.
 */
public record Instance(OpArgs args, List<Checked> outputs, CaseBuilder builder) implements AutoCloseable {
    public Instance {
        outputs = List.copyOf(outputs);
    }

    /** The output with this name. */
    public Checked output(String name) {
        for (Checked c : outputs) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("no output named " + name + " in " + outputs.stream().map(Checked::name).toList());
    }

    @Override
    public void close() {
        builder.close();
    }
}
