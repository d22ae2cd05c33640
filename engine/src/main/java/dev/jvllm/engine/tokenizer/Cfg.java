package dev.jvllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;

/**
 * A position in a parsed tokenizer.json: the node plus its JSON path and file name, so that every
 * load error can say exactly where the unsupported or malformed value is.
 */
record Cfg(JsonNode node, String path, String file) {

    boolean isNull() {
        return node == null || node.isNull() || node.isMissingNode();
    }

    boolean has(String key) {
        return !get(key).isNull();
    }

    Cfg get(String key) {
        JsonNode child = node == null ? null : node.get(key);
        return new Cfg(child, path.isEmpty() ? key : path + "." + key, file);
    }

    /** The elements of an array-valued key (required). */
    List<Cfg> list(String key) {
        Cfg c = get(key);
        if (c.isNull() || !c.node.isArray()) {
            throw c.error("expected an array");
        }
        List<Cfg> out = new ArrayList<>();
        for (int i = 0; i < c.node.size(); i++) {
            out.add(new Cfg(c.node.get(i), c.path + "[" + i + "]", file));
        }
        return out;
    }

    String str(String key) {
        Cfg c = get(key);
        if (c.isNull() || !c.node.isTextual()) {
            throw c.error("expected a string");
        }
        return c.node.asText();
    }

    String str(String key, String defaultValue) {
        return has(key) ? str(key) : defaultValue;
    }

    boolean bool(String key, boolean defaultValue) {
        Cfg c = get(key);
        if (c.isNull()) {
            return defaultValue;
        }
        if (!c.node.isBoolean()) {
            throw c.error("expected true or false");
        }
        return c.node.asBoolean();
    }

    int integer(String key, int defaultValue) {
        Cfg c = get(key);
        if (c.isNull()) {
            return defaultValue;
        }
        if (!c.node.canConvertToInt()) {
            throw c.error("expected an integer");
        }
        return c.node.asInt();
    }

    int asInt() {
        if (isNull() || !node.canConvertToInt()) {
            throw error("expected an integer");
        }
        return node.asInt();
    }

    /** The component's {@code type} field (required). */
    String type() {
        return str("type");
    }

    /**
     * Rejects keys this implementation does not know, so that an option it would silently ignore
     * (and thereby tokenize differently from Hugging Face) fails at load instead.
     */
    Cfg allowKeys(String... keys) {
        List<String> allowed = Arrays.asList(keys);
        if (node != null && node.isObject()) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
                String k = it.next();
                if (!allowed.contains(k)) {
                    throw get(k).error("unsupported option \"" + k + "\"; supported options here: " + allowed);
                }
            }
        }
        return this;
    }

    IllegalArgumentException error(String message) {
        return new IllegalArgumentException(file + ": " + (path.isEmpty() ? "(root)" : path) + ": " + message);
    }

    /** An unsupported value at {@code key}, with the supported ones listed. */
    IllegalArgumentException unsupported(String key, String value, Collection<String> supported) {
        return get(key).error("unsupported value \"" + value + "\"; supported: " + supported);
    }
}
