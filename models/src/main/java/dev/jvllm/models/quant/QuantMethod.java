package dev.jvllm.models.quant;

import dev.jvllm.models.loader.ConfigException;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * One checkpoint quantization method ({@code quant_method}): decides the scheme of one
 * checkpoint module ({@code model.layers.0.self_attn.q_proj}, never a fused name). Fused layers
 * are expanded to their shards by {@link QuantizationConfig}.
 */
sealed interface QuantMethod permits Fp8Method, GptqMethod, AwqMethod, CompressedTensorsMethod {

    /** The {@code quant_method} value. */
    String name();

    /** The scheme of one checkpoint module; {@link LinearScheme#DENSE} for a full-precision one. */
    LinearScheme forModule(String module);

    /** Where to list a module to keep it in full precision, for messages ("ignore", "dynamic \"-:\" rules"). */
    String skipListName();

    // ---- skip-list matching, shared by the methods ----

    /** A regex from a config field; a bad one fails naming the field. */
    static Pattern compile(String regex, Fields f, String key) {
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new ConfigException(f.where(key) + " has an invalid regular expression \"" + regex + "\": "
                    + e.getDescription());
        }
    }

    /** Python's {@code re.match}: the pattern matches at the start of the name (not necessarily all of it). */
    static boolean matchesAtStart(Pattern p, String name) {
        return p.matcher(name).lookingAt();
    }

    /** compressed-tensors' rule: an entry equals the name, or is {@code re:PATTERN} matching at its start. */
    static boolean exactOrRegex(String name, String entry, Fields f, String key) {
        if (entry.startsWith("re:")) {
            return matchesAtStart(compile(entry.substring(3), f, key), name);
        }
        return entry.equals(name);
    }

    /**
     * {@code modules_to_not_convert}: vLLM's AWQ reads an entry as a substring of the name,
     * transformers as a regex matching at its start or a suffix; a module listed either way stays
     * full precision.
     */
    static boolean notConverted(String name, List<String> entries, Fields f, String key) {
        for (String e : entries) {
            if (name.contains(e) || name.endsWith(e) || matchesAtStart(compile(e, f, key), name)) {
                return true;
            }
        }
        return false;
    }
}
