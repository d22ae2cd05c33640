package dev.jvllm.models.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * A byte-level BPE tokenizer of any vocabulary size ≥ 258, in the form of Llama-3's
 * {@code tokenizer.json}, for random checkpoints: loadable by Hugging Face {@code tokenizers}, by
 * this project's tokenizer and by Jlama, and giving them the same ids.
 *
 * <p>Ids 0–255 are the 256 bytes (GPT-2's byte-to-unicode characters, in byte order), so every
 * text encodes. Ids 256…V−3 come from merges of lower-case letters, shortest first: {@code Ġa}…
 * (a space and a letter), {@code ab}…, {@code Ġab}…, {@code abc}…, and so on until the vocabulary
 * is full; English text then takes about one token per two or three characters. Id V−2 is
 * {@code <|begin_of_text|>} (prepended by the post-processor, as Llama-3 does) and V−1
 * {@code <|end_of_text|>}. The pre-tokenizer is a {@code Sequence} of Llama-3's regex
 * {@code Split} and a {@code ByteLevel} without its own regex (the shape Jlama's loader accepts);
 * {@code tokenizer_config.json} has no {@code legacy} key (which would switch Jlama to another path).
 */
public final class SyntheticTokenizer {
    /** The special tokens' ids. */
    public record Specials(int bos, int eos) {
    }

    static final String BOS = "<|begin_of_text|>";
    static final String EOS = "<|end_of_text|>";
    /** Llama-3's pre-tokenizer regex (contractions, letters, up to 3 digits, punctuation, spaces). */
    static final String SPLIT_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String LETTERS = "abcdefghijklmnopqrstuvwxyz";
    private static final ObjectMapper JSON = new ObjectMapper();

    private SyntheticTokenizer() {
    }

    /**
     * The special token ids for a vocabulary of {@code vocabSize}.
     *
     * @throws IllegalArgumentException when {@code vocabSize < 258} (256 bytes + 2 special tokens)
     */
    public static Specials specials(int vocabSize) {
        if (vocabSize < 258) {
            throw new IllegalArgumentException("vocab_size " + vocabSize + " is too small for a byte-level tokenizer:"
                    + " it needs 256 byte tokens and 2 special tokens (vocab_size >= 258)");
        }
        return new Specials(vocabSize - 2, vocabSize - 1);
    }

    /** GPT-2's byte → printable character map: printable Latin-1 bytes as themselves, the rest from U+0100 on. */
    static char[] byteChars() {
        char[] map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = (char) (printable ? b : next++);
        }
        return map;
    }

    /**
     * Writes {@code tokenizer.json} and {@code tokenizer_config.json} into {@code dir}.
     *
     * @param modelMaxLength the context length for {@code model_max_length}, if the config has one
     */
    public static void write(Path dir, int vocabSize, OptionalInt modelMaxLength) throws IOException {
        Specials sp = specials(vocabSize);
        char[] bytes = byteChars();
        String space = String.valueOf(bytes[' ']);

        ObjectNode vocab = JSON.createObjectNode();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(bytes[b]), b);
        }
        ArrayNode merges = JSON.createArrayNode();
        int id = 256;
        // words of n letters, plain then with a leading space, n = 1, 2, ...; each the merge of
        // its first n−1 letters (with the space) and its last letter
        List<String> words = List.of(""); // the (n−1)-letter words
        outer:
        for (int n = 1; ; n++) {
            List<String> longer = new ArrayList<>();
            for (String w : words) {
                for (char ch : LETTERS.toCharArray()) {
                    longer.add(w + ch);
                }
            }
            for (boolean spaced : new boolean[] {false, true}) {
                if (!spaced && n == 1) {
                    continue; // single letters are byte tokens already
                }
                for (String w : longer) {
                    if (id == sp.bos()) {
                        break outer;
                    }
                    String left = (spaced ? space : "") + w.substring(0, n - 1);
                    merges.addArray().add(left).add(w.substring(n - 1));
                    vocab.put(left + w.charAt(n - 1), id++);
                }
            }
            words = longer;
        }

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        addedToken(added, sp.bos(), BOS);
        addedToken(added, sp.eos(), EOS);
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Sequence");
        ArrayNode pres = pre.putArray("pretokenizers");
        ObjectNode split = pres.addObject();
        split.put("type", "Split");
        split.putObject("pattern").put("Regex", SPLIT_REGEX);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        byteLevel(pres.addObject(), false, true, false);

        ObjectNode post = root.putObject("post_processor");
        post.put("type", "Sequence");
        ArrayNode posts = post.putArray("processors");
        byteLevel(posts.addObject(), true, false, true);
        ObjectNode template = posts.addObject();
        template.put("type", "TemplateProcessing");
        ArrayNode single = template.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = template.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", BOS).put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode special = template.putObject("special_tokens").putObject(BOS);
        special.put("id", BOS);
        special.putArray("ids").add(sp.bos());
        special.putArray("tokens").add(BOS);

        byteLevel(root.putObject("decoder"), true, true, true);

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        model.set("vocab", vocab);
        model.set("merges", merges);
        Files.writeString(dir.resolve("tokenizer.json"), JSON.writeValueAsString(root));

        ObjectNode config = JSON.createObjectNode();
        config.put("bos_token", BOS);
        config.put("eos_token", EOS);
        config.put("clean_up_tokenization_spaces", true);
        config.putArray("model_input_names").add("input_ids").add("attention_mask");
        if (modelMaxLength.isPresent()) {
            config.put("model_max_length", modelMaxLength.getAsInt());
        }
        config.put("tokenizer_class", "PreTrainedTokenizerFast");
        Files.writeString(dir.resolve("tokenizer_config.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
    }

    /** A ByteLevel pre-tokenizer, post-processor or decoder (the same four fields, as Llama-3 writes them). */
    private static void byteLevel(ObjectNode n, boolean addPrefixSpace, boolean trimOffsets, boolean useRegex) {
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", addPrefixSpace);
        n.put("trim_offsets", trimOffsets);
        n.put("use_regex", useRegex);
    }

    private static void addedToken(ArrayNode added, int id, String content) {
        ObjectNode t = added.addObject();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
    }
}
