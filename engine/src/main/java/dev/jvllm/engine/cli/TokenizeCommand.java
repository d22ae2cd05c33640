package dev.jvllm.engine.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvllm.engine.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code jvllm tokenize --tokenizer DIR --text "..." --json}: prints {@code {"ids": [...]}}, the ids of
 * the text with special tokens added (as Hugging Face's {@code encode(text)}). {@code --input-jsonl FILE}
 * encodes one {@code {"text": ...}} per line, printing one object per line; {@code --ids 1,2,3} decodes.
 */
public final class TokenizeCommand implements Command {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "tokenize";
    }

    @Override
    public String summary() {
        return "encode text to token ids (and back) with a model's tokenizer";
    }

    @Override
    public String usage() {
        return """
                usage: jvllm tokenize --tokenizer DIR (--text TEXT | --input-jsonl FILE | --ids 1,2,3) [--json]

                Loads DIR/tokenizer.json (Hugging Face format). With --text, prints the ids of TEXT (special
                tokens such as BOS added by the tokenizer's post-processor), space-separated, or with --json
                as {"ids": [...]}. --input-jsonl FILE reads one {"text": ...} object per line and prints one
                result line per input line. --ids decodes ids to text (special tokens kept); with --json
                it prints {"text": "..."}.""";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Args a = Args.parse(args, Set.of("--json"), Set.of("--tokenizer", "--text", "--input-jsonl", "--ids"));
        a.requirePositionals(0, 0, "nothing");
        String dir = a.value("--tokenizer");
        if (dir == null) {
            throw new UsageException("missing --tokenizer DIR (the directory holding tokenizer.json)");
        }
        int inputs = (a.value("--text") != null ? 1 : 0) + (a.value("--input-jsonl") != null ? 1 : 0)
                + (a.value("--ids") != null ? 1 : 0);
        if (inputs != 1) {
            throw new UsageException("give exactly one of --text, --input-jsonl and --ids");
        }
        Path tokenizerJson = Path.of(dir).resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new UsageException("no tokenizer.json in " + dir);
        }
        Tokenizer tokenizer = Tokenizer.load(Path.of(dir));
        boolean json = a.has("--json");
        if (a.value("--ids") != null) {
            String text = tokenizer.decode(ids(a.value("--ids")), false);
            out.println(json ? "{\"text\": " + JSON.writeValueAsString(text) + "}" : text);
            return 0;
        }
        if (a.value("--text") != null) {
            out.println(format(tokenizer.encode(a.value("--text"), true), json));
            return 0;
        }
        Path input = Path.of(a.value("--input-jsonl"));
        try (BufferedReader reader = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = reader.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                out.println(format(tokenizer.encode(text(input, lineNo, line), true), json));
            }
        } catch (NoSuchFileException e) {
            throw new UsageException("no such file: " + input);
        }
        return 0;
    }

    private static String text(Path file, int lineNo, String line) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ":" + lineNo + ": malformed JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject() || n.get("text") == null || !n.get("text").isTextual()) {
            throw new IllegalArgumentException(file + ":" + lineNo + ": expected {\"text\": \"...\"}");
        }
        return n.get("text").asText();
    }

    private static int[] ids(String csv) throws UsageException {
        String[] parts = csv.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--ids: \"" + parts[i] + "\" is not a token id (expected e.g. 5,17,3)");
            }
        }
        return ids;
    }

    private static String format(int[] ids, boolean json) {
        StringBuilder sb = new StringBuilder(json ? "{\"ids\": [" : "");
        for (int i = 0; i < ids.length; i++) {
            sb.append(i == 0 ? "" : json ? ", " : " ").append(ids[i]);
        }
        return json ? sb.append("]}").toString() : sb.toString();
    }
}
