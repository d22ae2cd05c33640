package dev.jvllm.conformance;

import dev.jvllm.api.ops.OpKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds the spec of each op by convention: {@code OpKind.RMS_NORM} → class
 * {@code dev.jvllm.conformance.ops.RmsNormSpec}, with a public no-argument constructor.
 */
public final class Specs {
    private Specs() {
    }

    /** The spec class name for an op. */
    public static String className(OpKind op) {
        StringBuilder sb = new StringBuilder("dev.jvllm.conformance.ops.");
        for (String part : op.name().split("_")) {
            sb.append(part.charAt(0)).append(part.substring(1).toLowerCase(Locale.ROOT));
        }
        return sb.append("Spec").toString();
    }

    /** The spec of this op, or null when the suite has none (the report lists it as missing). */
    public static OpSpec<?> of(OpKind op) {
        try {
            Class<?> c = Class.forName(className(op));
            return (OpSpec<?>) c.getConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            return null;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot instantiate " + className(op), e);
        }
    }

    /** Every op of the catalog that has a spec (collectives are run by their own harness). */
    public static List<OpSpec<?>> all() {
        List<OpSpec<?>> out = new ArrayList<>();
        for (OpKind k : OpKind.values()) {
            OpSpec<?> s = of(k);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }
}
