package dev.jvllm.engine.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading chat templates from model directories, the variables they see, and the errors users get. */
class ChatTemplateTest {
    private static final String CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
            + "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    private static final List<ChatMessage> HELLO = List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"));

    @TempDir
    Path dir;

    @Test
    void tokenizerConfigStringTemplateWithSpecialTokens() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                 "eos_token": "</s>", "pad_token": null,
                 "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{{ eos_token }}{{ pad_token is defined }}"}
                """);
        assertEquals("<s>[system:Be brief.][user:Hi]</s>False", ChatTemplate.load(dir).render(HELLO, false));
    }

    @Test
    void chatTemplateJinjaFileWinsOverTokenizerConfig() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"old\", \"eos_token\": \"</s>\"}");
        Files.writeString(dir.resolve("chat_template.jinja"), CHATML + "{{ eos_token }}\n");
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n</s>",
                ChatTemplate.load(dir).render(HELLO, true));
    }

    @Test
    void chatTemplateJsonOfProcessors() throws IOException {
        Files.writeString(dir.resolve("chat_template.json"), "{\"chat_template\": \"{{ messages|length }}\"}");
        assertEquals("2", ChatTemplate.load(dir).render(HELLO, false));
    }

    @Test
    void namedTemplatesPickToolUseWhenToolsArePassed() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "default", "template": "plain"},
                                   {"name": "tool_use", "template": "tools={{ tools|length }}"}]}
                """);
        Files.createDirectories(dir.resolve("additional_chat_templates"));
        Files.writeString(dir.resolve("additional_chat_templates/rag.jinja"), "rag");
        ChatTemplate t = ChatTemplate.load(dir);
        assertEquals(List.of("default", "tool_use", "rag"), t.names());
        assertEquals("plain", t.render(HELLO, false));
        assertEquals("tools=1", t.render(HELLO, false, Map.of("tools", List.of(Map.of("name", "f")))));
    }

    @Test
    void namedTemplatesWithoutDefaultAreAnError() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"chat_template\": [{\"name\": \"a\", \"template\": \"x\"}, {\"name\": \"b\", \"template\": \"y\"}]}");
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.load(dir).render(HELLO, false));
        assertTrue(e.getMessage().contains("[a, b]") && e.getMessage().contains("\"default\""), e.getMessage());
    }

    @Test
    void missingTemplateSaysHowToPassOne() throws IOException {
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.load(dir));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("has no chat template"), e.getMessage());
        assertTrue(e.getMessage().contains("--chat-template FILE"), e.getMessage());
    }

    @Test
    void templateFileWithTheModelsSpecialTokens() throws IOException {
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"bos_token\": \"<B>\", \"eos_token\": \"<E>\"}");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"<EOS>\"}");
        Path file = dir.resolve("my.jinja");
        Files.writeString(file, "{{ bos_token }}{{ messages[-1].content }}{{ eos_token }}");
        // tokenizer_config.json wins; special_tokens_map.json fills what it lacks
        assertEquals("<B>Hi<EOS>", ChatTemplate.fromFile(file, dir).render(HELLO, false));
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.fromFile(dir.resolve("nope.jinja"), null));
        assertTrue(e.getMessage().contains("nope.jinja"), e.getMessage());
    }

    @Test
    void raiseExceptionRejectsTheConversationWithTheTemplatesMessage() {
        ChatTemplate t = ChatTemplate.of("{% if messages[0].role == 'system' %}{{ raise_exception('System role not "
                + "supported') }}{% endif %}ok", Map.of());
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(HELLO, false));
        assertEquals("System role not supported", e.getMessage());
        assertTrue(e.rejectedByTemplate());
        assertEquals("ok", t.render(List.of(ChatMessage.user("Hi")), false));
    }

    @Test
    void syntaxErrorsAndUnknownFiltersFailAtLoadNamingTheFile() throws IOException {
        Files.writeString(dir.resolve("chat_template.jinja"), "{% for m in messages %}{{ m.role }}");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.load(dir));
        assertTrue(e.getMessage().contains("chat_template.jinja") && e.getMessage().contains("endfor"), e.getMessage());
        assertFalse(e.rejectedByTemplate());
        e = assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("{{ x|frobnicate }}", Map.of()));
        assertTrue(e.getMessage().contains("'frobnicate'"), e.getMessage());
    }

    @Test
    void templatesCannotMutateInputsOrCallJavaMethods() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of("{% do messages.append(1) %}", Map.of()).render(HELLO, false));
        assertTrue(e.getMessage().contains(".append()"), e.getMessage());
        e = assertThrows(ChatTemplateException.class,
                () -> ChatTemplate.of("{{ messages[0].content.getClass() }}", Map.of()).render(HELLO, false));
        assertTrue(e.getMessage().contains(".getClass()"), e.getMessage());
    }

    @Test
    void extraVariablesAreJsonLike() {
        ChatTemplate t = ChatTemplate.of("{{ flag }} {{ n + 1 }} {{ obj.k[1] }} {{ obj | tojson }}", Map.of());
        Map<String, Object> obj = new HashMap<>();
        obj.put("k", List.of("a", "b"));
        assertEquals("False 3 b {\"k\": [\"a\", \"b\"]}", t.render(HELLO, false, Map.of("flag", false, "n", 2, "obj", obj)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> t.render(HELLO, false, Map.of("flag", new Object())));
        assertTrue(e.getMessage().contains("flag"), e.getMessage());
    }

    @Test
    void strftimeNowReadsTheClock() {
        ChatTemplate t = ChatTemplate.of("{{ strftime_now('%d %b %Y') }}", Map.of())
                .withClock(Clock.fixed(Instant.parse("2024-02-29T23:30:00Z"), ZoneOffset.UTC));
        assertEquals("29 Feb 2024", t.render(HELLO, false));
    }

    @Test
    void rendersConcurrently() throws Exception {
        ChatTemplate t = ChatTemplate.of("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + "
                + "m.content|length %}{% endfor %}{{ ns.n }}", Map.of());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                String content = "x".repeat(i);
                results.add(pool.submit(() -> t.render(List.of(ChatMessage.user(content)), false)));
            }
            for (int i = 0; i < 64; i++) {
                assertEquals(Integer.toString(i), results.get(i).get());
            }
        } finally {
            pool.shutdown();
        }
    }
}
