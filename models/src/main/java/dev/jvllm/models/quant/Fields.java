package dev.jvllm.models.quant;

import dev.jvllm.models.loader.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A typed view of one JSON object of a quantization config (plain Java values from
 * {@code ModelConfig.raw}). Absent and null are the same; a present value of the wrong type is an
 * error naming the file and the dotted path ({@code config.json: quantization_config.bits}).
 */
final class Fields {
    private final Map<String, Object> map;
    private final String source;
    private final String path; // "quantization_config." or "quantization_config.config_groups.group_0."

    Fields(Map<String, Object> map, String source, String path) {
        this.map = map;
        this.source = source;
        this.path = path;
    }

    /** Where a field lives, for messages: {@code config.json: quantization_config.bits}. */
    String where(String key) {
        return source + ": " + path + key;
    }

    Set<String> keys() {
        return map.keySet();
    }

    boolean has(String key) {
        return map.get(key) != null;
    }

    Optional<Object> value(String key) {
        return Optional.ofNullable(map.get(key));
    }

    Optional<Fields> object(String key) {
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw wrong(key, v, "an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> typed = (Map<String, Object>) m;
        return Optional.of(new Fields(typed, source, path + key + "."));
    }

    Optional<String> string(String key) {
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof String s)) {
            throw wrong(key, v, "a string");
        }
        return Optional.of(s);
    }

    Optional<Integer> integer(String key) {
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Long l && l == (int) (long) l) {
            return Optional.of((int) (long) l);
        }
        if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < Integer.MAX_VALUE) {
            return Optional.of((int) (double) d);
        }
        throw wrong(key, v, "an integer");
    }

    Optional<Boolean> bool(String key) {
        Object v = map.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!(v instanceof Boolean b)) {
            throw wrong(key, v, "true or false");
        }
        return Optional.of(b);
    }

    /** The first of {@code keys} that is present, as an integer (configs spell some fields two ways). */
    int requireInt(String... keys) {
        for (String k : keys) {
            Optional<Integer> v = integer(k);
            if (v.isPresent()) {
                return v.get();
            }
        }
        throw new ConfigException(where(keys[0]) + " is missing" + (keys.length > 1 ? " (or " + String.join(", ",
                List.of(keys).subList(1, keys.length)) + ")" : "") + "; the quantization config needs it");
    }

    /** A list of strings; empty when absent. */
    List<String> strings(String key) {
        Object v = map.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw wrong(key, v, "a list of strings");
        }
        List<String> out = new ArrayList<>();
        for (Object e : l) {
            if (!(e instanceof String s)) {
                throw wrong(key, v, "a list of strings");
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    /** A list of strings, or a list of lists of strings flattened (GPTQ's modules_in_block_to_quantize). */
    List<String> flatStrings(String key) {
        Object v = map.get(key);
        if (!(v instanceof List<?> l) || l.stream().noneMatch(e -> e instanceof List<?>)) {
            return strings(key);
        }
        List<String> out = new ArrayList<>();
        for (Object e : l) {
            if (!(e instanceof List<?> inner) || !inner.stream().allMatch(s -> s instanceof String)) {
                throw wrong(key, v, "a list of strings or a list of lists of strings");
            }
            inner.forEach(s -> out.add((String) s));
        }
        return List.copyOf(out);
    }

    /** A list of integers; empty when absent. */
    List<Integer> ints(String key) {
        Object v = map.get(key);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> l)) {
            throw wrong(key, v, "a list of integers");
        }
        List<Integer> out = new ArrayList<>();
        for (Object e : l) {
            if (!(e instanceof Long n) || n != (int) (long) n) {
                throw wrong(key, v, "a list of integers");
            }
            out.add((int) (long) n);
        }
        return List.copyOf(out);
    }

    ConfigException wrong(String key, Object v, String expected) {
        String shown = v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
        return new ConfigException(where(key) + " is " + shown + ", expected " + expected);
    }

    /** An error about a field's value: names the field and the fix. */
    ConfigException unsupported(String key, String what) {
        return new ConfigException(where(key) + ": " + what);
    }
}
