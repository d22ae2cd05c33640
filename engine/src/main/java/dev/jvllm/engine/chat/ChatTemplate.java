package dev.jvllm.engine.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * A model's chat template: turns a conversation into the prompt text the model was trained on, as
 * Hugging Face transformers' {@code tokenizer.apply_chat_template(messages, tokenize=False,
 * add_generation_prompt=...)} does.
 *
 * <pre>{@code
 * ChatTemplate t = ChatTemplate.load(modelDir);
 * String prompt = t.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi!")), true);
 * int[] ids = tokenizer.encode(prompt, false);   // the template already wrote BOS where the model wants it
 * }</pre>
 *
 * <p>Where the template comes from ({@link #load}), in transformers' order: {@code chat_template.jinja}
 * beside the tokenizer (named extras in {@code additional_chat_templates/NAME.jinja}), else
 * {@code chat_template.json}'s {@code chat_template}, else {@code tokenizer_config.json}'s
 * {@code chat_template} (a string, or a list of {@code {"name", "template"}}). With several named
 * templates, {@code "tool_use"} is chosen when a {@code tools} variable is passed and exists, else
 * {@code "default"}.
 *
 * <p>What a template sees: {@code messages} (maps with {@code role} and {@code content}),
 * {@code add_generation_prompt}, {@code tools} and {@code documents} (None unless passed), the special
 * tokens of {@code tokenizer_config.json} ({@code bos_token}, {@code eos_token}, ...), any extra
 * variables, and the globals {@code raise_exception(message)} and {@code strftime_now(format)}. Jinja
 * settings are transformers' (trim_blocks, lstrip_blocks, no trailing newline kept); Python's string and
 * dict methods templates call ({@code .strip()}, {@code .startswith()}, {@code .split()}, {@code .items()},
 * {@code .get()}, ...) behave as in Python. Instances are immutable and thread-safe.
 */
public final class ChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SPECIAL_TOKENS = List.of("bos_token", "eos_token", "unk_token", "sep_token",
            "pad_token", "cls_token", "mask_token");

    private final Map<String, JinjaSource> templates; // name -> prepared source; a single one is "default"
    private final Map<String, Object> specialTokens;
    private final String origin;
    private final Clock clock;

    private ChatTemplate(Map<String, JinjaSource> templates, Map<String, Object> specialTokens, String origin,
                         Clock clock) {
        this.templates = templates;
        this.specialTokens = specialTokens;
        this.origin = origin;
        this.clock = clock;
    }

    /**
     * The chat template of a model directory (or of a directory holding just the tokenizer files).
     *
     * @throws ChatTemplateException when the directory has none, naming the files looked at and
     *                               {@code --chat-template FILE} as the way to pass one
     */
    public static ChatTemplate load(Path modelDir) {
        Map<String, String> templates = new LinkedHashMap<>();
        Path jinja = modelDir.resolve("chat_template.jinja");
        Path chatJson = modelDir.resolve("chat_template.json");
        JsonNode config = readJson(modelDir.resolve("tokenizer_config.json"));
        JsonNode processor = readJson(chatJson).path("chat_template");
        String origin;
        if (Files.isRegularFile(jinja)) {
            templates.put("default", read(jinja));
            origin = jinja.toString();
        } else if (processor.isTextual()) {
            templates.put("default", processor.asText());
            origin = chatJson.toString();
        } else {
            origin = modelDir.resolve("tokenizer_config.json").toString();
            JsonNode t = config.path("chat_template");
            if (t.isTextual()) {
                templates.put("default", t.asText());
            } else if (t.isArray()) {
                for (JsonNode named : t) {
                    if (!named.path("name").isTextual() || !named.path("template").isTextual()) {
                        throw new ChatTemplateException(origin + ": chat_template list entries need a \"name\" "
                                + "and a \"template\" string, got " + named);
                    }
                    templates.put(named.get("name").asText(), named.get("template").asText());
                }
            } else if (!t.isMissingNode() && !t.isNull()) {
                throw new ChatTemplateException(origin + ": chat_template must be a string or a list of "
                        + "{\"name\", \"template\"}, got " + t.getNodeType());
            }
        }
        Path extras = modelDir.resolve("additional_chat_templates");
        if (Files.isDirectory(extras)) {
            try (Stream<Path> files = Files.list(extras)) {
                for (Path f : files.sorted().toList()) {
                    String name = f.getFileName().toString();
                    if (name.endsWith(".jinja")) {
                        templates.put(name.substring(0, name.length() - ".jinja".length()), read(f));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + extras, e);
            }
        }
        if (templates.isEmpty()) {
            throw new ChatTemplateException("the model in " + modelDir + " has no chat template (no "
                    + "chat_template in tokenizer_config.json, no chat_template.jinja); pass one with "
                    + "--chat-template FILE (a Jinja file, e.g. a ChatML template)");
        }
        return new ChatTemplate(prepared(templates, origin), specialTokens(modelDir, config), origin,
                Clock.systemDefaultZone());
    }

    /**
     * A template from a Jinja file ({@code --chat-template FILE}), with the special tokens of
     * {@code tokenizerDir}'s {@code tokenizer_config.json} ({@code tokenizerDir} may be null: no tokens).
     */
    public static ChatTemplate fromFile(Path templateFile, Path tokenizerDir) {
        if (!Files.isRegularFile(templateFile)) {
            throw new ChatTemplateException("chat template file " + templateFile + " does not exist");
        }
        Map<String, Object> tokens = tokenizerDir == null ? Map.of()
                : specialTokens(tokenizerDir, readJson(tokenizerDir.resolve("tokenizer_config.json")));
        String origin = templateFile.toString();
        return new ChatTemplate(prepared(Map.of("default", read(templateFile)), origin), tokens, origin,
                Clock.systemDefaultZone());
    }

    /** A template given as text, with the special tokens it may refer to ({@code "bos_token" -> "<s>"}, ...). */
    public static ChatTemplate of(String template, Map<String, String> specialTokens) {
        Objects.requireNonNull(template, "template");
        return new ChatTemplate(prepared(Map.of("default", template), "the given template"),
                Map.copyOf(specialTokens), "the given template", Clock.systemDefaultZone());
    }

    /** The same template with {@code strftime_now} reading {@code clock} (for reproducible prompts). */
    public ChatTemplate withClock(Clock clock) {
        return new ChatTemplate(templates, specialTokens, origin, Objects.requireNonNull(clock, "clock"));
    }

    /** The template names: {@code ["default"]} for a single template. */
    public List<String> names() {
        return List.copyOf(templates.keySet());
    }

    /**
     * Renders a conversation.
     *
     * @param addGenerationPrompt append the tokens that open an assistant turn (for generation)
     * @throws ChatTemplateException when the template rejects the conversation (its
     *                               {@code raise_exception} message, e.g. roles that do not alternate)
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders a conversation with extra template variables: {@code tools} (a list of OpenAI-style function
     * schemas as maps), {@code documents}, or template-specific switches such as {@code enable_thinking}
     * or {@code date_string}. Values are JSON-like: String, Number, Boolean, null, List and Map.
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        List<Object> msgs = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            msgs.add(Collections.unmodifiableMap(map));
        }
        Map<String, Object> bindings = new LinkedHashMap<>();
        bindings.put("tools", null);
        bindings.put("documents", null);
        bindings.putAll(specialTokens);
        for (Map.Entry<String, ?> e : variables.entrySet()) {
            bindings.put(e.getKey(), frozen(e.getKey(), e.getValue()));
        }
        bindings.put("messages", Collections.unmodifiableList(msgs));
        bindings.put("add_generation_prompt", addGenerationPrompt);
        JinjaSource template = select(bindings.get("tools") != null);
        return Jinja.render(template, bindings, clock, origin);
    }

    private static Map<String, JinjaSource> prepared(Map<String, String> sources, String origin) {
        Map<String, JinjaSource> out = new LinkedHashMap<>();
        sources.forEach((name, text) -> {
            JinjaSource source = JinjaSource.prepare(text);
            Jinja.check(source, sources.size() == 1 ? origin : origin + " (template \"" + name + "\")");
            out.put(name, source);
        });
        return Collections.unmodifiableMap(out);
    }

    private JinjaSource select(boolean tools) {
        if (templates.size() == 1) {
            return templates.values().iterator().next();
        }
        if (tools && templates.containsKey("tool_use")) {
            return templates.get("tool_use");
        }
        JinjaSource t = templates.get("default");
        if (t == null) {
            throw new ChatTemplateException(origin + " has several chat templates " + templates.keySet()
                    + " and none is named \"default\"");
        }
        return t;
    }

    /** A caller's value as the template sees it: immutable, JSON-like. */
    private static Object frozen(String name, Object v) {
        return switch (v) {
            case null -> null;
            case String s -> s;
            case Number n -> n;
            case Boolean b -> b;
            case Map<?, ?> m -> {
                Map<String, Object> copy = new LinkedHashMap<>();
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    copy.put(String.valueOf(e.getKey()), frozen(name, e.getValue()));
                }
                yield Collections.unmodifiableMap(copy);
            }
            case Collection<?> c -> {
                List<Object> copy = new ArrayList<>(c.size());
                for (Object o : c) {
                    copy.add(frozen(name, o));
                }
                yield Collections.unmodifiableList(copy);
            }
            default -> throw new IllegalArgumentException("chat template variable " + name + ": a "
                    + v.getClass().getName() + " is not JSON-like (use String, Number, Boolean, null, List, Map)");
        };
    }

    /** bos_token, eos_token, ... as transformers' special_tokens_map: tokenizer_config.json, then special_tokens_map.json. */
    private static Map<String, Object> specialTokens(Path dir, JsonNode config) {
        JsonNode map = readJson(dir.resolve("special_tokens_map.json"));
        Map<String, Object> tokens = new LinkedHashMap<>();
        for (String name : SPECIAL_TOKENS) {
            String text = tokenText(config.get(name));
            if (text == null) {
                text = tokenText(map.get(name));
            }
            if (text != null) {
                tokens.put(name, text);
            }
        }
        JsonNode additional = config.has("additional_special_tokens") ? config.get("additional_special_tokens")
                : map.path("additional_special_tokens");
        if (additional.isArray()) {
            List<String> list = new ArrayList<>();
            for (JsonNode t : additional) {
                String text = tokenText(t);
                if (text != null) {
                    list.add(text);
                }
            }
            tokens.put("additional_special_tokens", List.copyOf(list));
        }
        return Collections.unmodifiableMap(tokens);
    }

    /** A special token is a string or an AddedToken object {@code {"content": ...}}. */
    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        return n.path("content").isTextual() ? n.get("content").asText() : null;
    }

    private static JsonNode readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ChatTemplateException(file + " is not valid JSON: " + e.getMessage(), e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
