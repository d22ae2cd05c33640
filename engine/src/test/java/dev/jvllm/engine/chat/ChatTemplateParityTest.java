package dev.jvllm.engine.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our render of real chat templates equals Python Jinja2's, set up as transformers sets it up. The
 * inputs are real {@code tokenizer_config.json} fields of ~170 hub models ({@code chat-templates/corpus.json},
 * sources in {@code SOURCES.md}) and one small template per Jinja/Python feature templates rely on
 * ({@code features.json}); the expected renders are {@code expected.jsonl}, written by
 * {@code tools/oracle/make_chat_template_fixtures.py} with jinja2 3.1.6. Popular models (Llama-3.x, Qwen2.5,
 * Qwen3, Mistral, Gemma, Phi-3, ChatML, DeepSeek-R1, ...) run every conversation with and without the
 * generation prompt, and with tools where they take them; the rest run three conversations. Each model's
 * fields are written to a directory as tokenizer_config.json and loaded the way a model directory is.
 *
 * <p>Where a template rejects the conversation ({@code raise_exception}), we must raise the same message.
 * Where Jinja2 itself failed (a template reading fields our messages do not have, e.g. {@code message['from']},
 * and concatenating the undefined result), the case is skipped unless we fail too: jinjava treats undefined
 * values as null instead of raising (a documented difference).
 */
class ChatTemplateParityTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DIR = "/chat-templates/";

    @TempDir
    static Path models;

    @TestFactory
    Stream<DynamicTest> rendersAsJinja2() throws IOException {
        ObjectNode corpus = (ObjectNode) resource("corpus.json");
        JsonNode spec = resource("conversations.json");
        JsonNode features = resource("features.json");
        features.get("templates").fields().forEachRemaining(f -> corpus.set("feature:" + f.getKey(),
                ((ObjectNode) features.get("special_tokens").deepCopy()).put("chat_template", f.getValue().asText())));
        Clock clock = Clock.fixed(LocalDateTime.parse(spec.get("now").asText()).toInstant(ZoneOffset.UTC),
                ZoneOffset.UTC);
        Map<String, ChatTemplate> loaded = new HashMap<>();
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : cases()) {
            String model = c.get("model").asText();
            String conversation = c.get("conversation").asText();
            boolean agp = c.get("add_generation_prompt").asBoolean();
            String extraName = c.get("extra").isNull() ? null : c.get("extra").asText();
            String name = model + " | " + conversation + (agp ? " | generation prompt" : "")
                    + (extraName == null ? "" : " | " + extraName);
            tests.add(DynamicTest.dynamicTest(name, () -> {
                ChatTemplate t = loaded.computeIfAbsent(model, m -> load(m, corpus.get(m)).withClock(clock));
                List<ChatMessage> messages = messages(spec.get("conversations").get(conversation));
                Map<String, Object> extra = extraName == null ? Map.of()
                        : JSON.convertValue(spec.get("extras").get(extraName), Map.class);
                if (c.has("output")) {
                    assertEquals(c.get("output").asText(), t.render(messages, agp, extra));
                } else if (!c.has("error_type")) {
                    ChatTemplateException e = assertThrows(ChatTemplateException.class,
                            () -> t.render(messages, agp, extra), "the template raised: " + c.get("error").asText());
                    assertEquals(c.get("error").asText(), e.getMessage());
                    assertTrue(e.rejectedByTemplate());
                } else {
                    String jinja2 = c.get("error_type").asText() + ": " + c.get("error").asText();
                    try {
                        String ours = t.render(messages, agp, extra);
                        Assumptions.abort("Jinja2 failed (" + jinja2 + "); we rendered " + ours.length()
                                + " chars: undefined values are null in jinjava");
                    } catch (ChatTemplateException expected) {
                        // failing too is the Jinja2 behaviour
                    }
                }
            }));
        }
        return tests.stream();
    }

    private static ChatTemplate load(String model, JsonNode config) {
        try {
            Path dir = models.resolve(model.replace('/', '_').replace(':', '_'));
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(config));
            return ChatTemplate.load(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<ChatMessage> messages(JsonNode conversation) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : conversation) {
            out.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        }
        return out;
    }

    private static List<JsonNode> cases() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (InputStream in = ChatTemplateParityTest.class.getResourceAsStream(DIR + "expected.jsonl")) {
            for (String line : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    out.add(JSON.readTree(line));
                }
            }
        }
        return out;
    }

    static JsonNode resource(String name) throws IOException {
        try (InputStream in = ChatTemplateParityTest.class.getResourceAsStream(DIR + name)) {
            return JSON.readTree(in);
        }
    }
}
