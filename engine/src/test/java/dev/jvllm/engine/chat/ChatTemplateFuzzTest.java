package dev.jvllm.engine.chat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes loading and rendering a chat template (templates come from downloaded repositories): each
 * either renders or throws {@link ChatTemplateException}; nothing else may escape. Corpus (run by plain
 * {@code mvn test}): {@code src/test/resources/dev/jvllm/engine/chat/ChatTemplateFuzzTestInputs/template/};
 * fuzz with {@code JAZZER_FUZZ=1}.
 */
class ChatTemplateFuzzTest {
    private static final List<ChatMessage> CHAT = List.of(ChatMessage.system("s"), ChatMessage.user("u {{ x }}"),
            ChatMessage.assistant("<think>a</think>b"));

    @FuzzTest(maxDuration = "30s")
    void template(byte[] input) {
        ChatTemplate t;
        try {
            t = ChatTemplate.of(new String(input, StandardCharsets.UTF_8), Map.of("bos_token", "<s>"));
        } catch (ChatTemplateException expected) {
            return;
        }
        try {
            t.render(CHAT, true, Map.of("tools", List.of(Map.of("name", "f"))));
        } catch (ChatTemplateException expected) {
            // a template may fail to render; it must say so with this exception
        }
    }
}
