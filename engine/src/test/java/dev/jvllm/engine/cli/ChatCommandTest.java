package dev.jvllm.engine.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.jvllm.engine.LLM;
import dev.jvllm.engine.chat.ChatMessage;
import dev.jvllm.engine.core.SamplingParams;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jvllm chat} on the bundled model with a template that concatenates the turns: replies equal
 * what generate gives for the rendered conversation, history carries over, /reset clears it.
 */
class ChatCommandTest {
    static final Path MODEL = Path.of("../default-model");

    @Test
    void repliesFollowTheRenderedConversation(@TempDir Path tmp) throws Exception {
        Path template = tmp.resolve("t.jinja");
        Files.writeString(template, "{% for m in messages %}{{ m.content }}{% endfor %}");
        String script = "In the beginning\nBlessed are the\n/reset\nBlessed are the\n/exit\nnot read\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = new ChatCommand(new ByteArrayInputStream(script.getBytes(StandardCharsets.UTF_8))).run(
                List.of("--model", MODEL.toString(), "--chat-template", template.toString(), "--temperature", "0",
                        "--max-tokens", "8", "--backend", "cpu"),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(8).build();
        try (LLM llm = LLM.load(MODEL)) {
            String first = llm.generate("In the beginning", greedy).text();
            // the second turn sees the first turn and its reply; /reset forgets them
            String second = llm.generate("In the beginning" + first + "Blessed are the", greedy).text();
            String third = llm.generate("Blessed are the", greedy).text();
            String nl = System.lineSeparator();
            assertEquals(first + nl + second + nl + third + nl, out.toString(StandardCharsets.UTF_8));
            // the API's chat renders the same way through a model's own template
            assertThrows(RuntimeException.class, () -> llm.chat(List.of(ChatMessage.user("x")), greedy),
                    "the bundled model has no chat template");
        }
    }
}
