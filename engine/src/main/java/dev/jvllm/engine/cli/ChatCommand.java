package dev.jvllm.engine.cli;

import dev.jvllm.engine.LLM;
import dev.jvllm.engine.TokenStream;
import dev.jvllm.engine.chat.ChatMessage;
import dev.jvllm.engine.chat.ChatTemplate;
import dev.jvllm.engine.core.CompletionDelta;
import dev.jvllm.engine.core.SamplingParams;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code jvllm chat [--model DIR]}: an interactive conversation through the model's chat template.
 * Each line read from standard input is a user turn; the reply streams back and joins the history.
 * {@code /reset} clears the history, {@code /exit} or end of input ends.
 */
public final class ChatCommand implements Command {
    private final InputStream in;

    public ChatCommand() {
        this(System.in);
    }

    /** Reads the user's turns from {@code in} (tests pass a scripted conversation). */
    ChatCommand(InputStream in) {
        this.in = in;
    }

    @Override
    public String name() {
        return "chat";
    }

    @Override
    public String summary() {
        return "chat interactively through the model's chat template";
    }

    @Override
    public String usage() {
        return """
                usage: jvllm chat [--model DIR] [--chat-template FILE] [--system TEXT] [sampling] [options]

                Reads one user message per line from standard input and streams the assistant's reply.
                /reset clears the conversation; /exit (or end of input) ends it. The conversation is
                rendered with the model's chat template (tokenizer_config.json or chat_template.jinja),
                or with --chat-template FILE. Sampling options as for generate.

                """ + ModelOptions.USAGE;
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Set<String> values = new HashSet<>(ModelOptions.VALUE_OPTIONS);
        values.addAll(GenerateCommand.SAMPLING_OPTIONS);
        values.addAll(Set.of("--chat-template", "--system"));
        Set<String> flags = new HashSet<>(ModelOptions.FLAGS);
        flags.add("--ignore-eos");
        Args a = Args.parse(args, flags, values);
        a.requirePositionals(0, 0, "");
        ModelOptions m = ModelOptions.from(a);
        try (LLM llm = LLM.load(m.model(), m.engine())) {
            ChatTemplate template = a.value("--chat-template") != null
                    ? ChatTemplate.fromFile(Path.of(a.value("--chat-template")), m.model()) : llm.chatTemplate();
            SamplingParams params = GenerateCommand.samplingParams(a, llm.defaultSamplingParams());
            List<ChatMessage> history = new ArrayList<>();
            String system = a.value("--system");
            if (system != null) {
                history.add(ChatMessage.system(system));
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            err.println("chatting with " + m.model() + " (/reset clears, /exit ends)");
            while (true) {
                err.print("> ");
                err.flush();
                String line = reader.readLine();
                if (line == null || line.strip().equals("/exit")) {
                    return 0;
                }
                if (line.strip().equals("/reset")) {
                    history.subList(system == null ? 0 : 1, history.size()).clear();
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                history.add(ChatMessage.user(line));
                StringBuilder reply = new StringBuilder();
                try (TokenStream s = llm.stream(llm.chatPrompt(history, template), params)) {
                    for (CompletionDelta d : s) {
                        reply.append(d.text());
                        out.print(d.text());
                        out.flush();
                    }
                }
                out.println();
                history.add(ChatMessage.assistant(reply.toString()));
            }
        }
    }
}
