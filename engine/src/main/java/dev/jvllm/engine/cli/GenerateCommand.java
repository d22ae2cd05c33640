package dev.jvllm.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jvllm.engine.CompletionOutput;
import dev.jvllm.engine.LLM;
import dev.jvllm.engine.Prompt;
import dev.jvllm.engine.RequestOutput;
import dev.jvllm.engine.TokenStream;
import dev.jvllm.engine.core.CompletionDelta;
import dev.jvllm.engine.core.Logprob;
import dev.jvllm.engine.core.TokenLogprobs;
import dev.jvllm.engine.core.SamplingParams;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code jvllm generate [--model DIR] "prompt" ...}: runs the prompts through the engine and prints
 * the completions. One text prompt streams its text as it is generated, with a live tokens/s
 * status on a terminal. {@code --prompt-token-ids 5,17,3 --json} prints {@code {"token_ids": [...]}}
 * with the generated ids only (the contract the parity scripts use).
 */
public final class GenerateCommand implements Command {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The options {@link #samplingParams} reads (all take a value). */
    static final Set<String> SAMPLING_OPTIONS = Set.of("--max-tokens", "--temperature", "--top-k", "--top-p", "--min-p",
            "--seed", "--repetition-penalty", "--presence-penalty", "--frequency-penalty", "--min-tokens", "--stop",
            "--stop-token-ids", "--n", "--logprobs");
    /** More than vLLM's library default of 16: the CLI is for reading text. */
    static final int DEFAULT_MAX_TOKENS = 128;

    @Override
    public String name() {
        return "generate";
    }

    @Override
    public String summary() {
        return "generate text (streamed) from prompts, or token ids from --prompt-token-ids";
    }

    @Override
    public String usage() {
        return """
                usage: jvllm generate [--model DIR] ("prompt" ... | --prompt-token-ids 5,17,3) [sampling] [--json]

                Text prompts need the model directory's tokenizer.json. One text prompt streams its
                completion; several (or --n > 1) print each when done. With --prompt-token-ids the
                output is the generated ids; --json prints one object per prompt: {"token_ids": [...]}
                for token ids, {"text": ..., "token_ids": [...], "finish_reason": ...} for text.

                sampling (defaults: the model's generation_config.json, else vLLM's):
                  --max-tokens N             tokens to generate (default %d)
                  --temperature T            0 = greedy
                  --top-k K  --top-p P  --min-p P
                  --seed S                   per-request seed (reproducible draws)
                  --repetition-penalty R  --presence-penalty P  --frequency-penalty F
                  --min-tokens N  --stop STRING  --stop-token-ids 1,2  --ignore-eos
                  --n N                      completions per prompt
                  --logprobs N               top-N logprobs per generated token (with --json)

                """.formatted(DEFAULT_MAX_TOKENS) + ModelOptions.USAGE;
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Set<String> values = new HashSet<>(ModelOptions.VALUE_OPTIONS);
        values.addAll(SAMPLING_OPTIONS);
        values.add("--prompt-token-ids");
        Set<String> flags = new HashSet<>(ModelOptions.FLAGS);
        flags.addAll(Set.of("--json", "--ignore-eos"));
        Args a = Args.parse(args, flags, values);
        ModelOptions m = ModelOptions.from(a);
        List<Prompt> prompts = new ArrayList<>();
        if (a.positionals().isEmpty()) {
            prompts.add(Prompt.ofTokens(ModelOptions.tokenIds(a.value("--prompt-token-ids"))));
        } else {
            if (a.value("--prompt-token-ids") != null) {
                throw new UsageException("give either text prompts or --prompt-token-ids, not both");
            }
            if (!Files.isRegularFile(m.model().resolve("tokenizer.json"))) {
                throw new UsageException("a text prompt needs " + m.model().resolve("tokenizer.json")
                        + "; pass --prompt-token-ids 5,17,3 for a model without a tokenizer");
            }
            for (String p : a.positionals()) {
                prompts.add(Prompt.of(p));
            }
        }
        boolean json = a.has("--json");
        try (LLM llm = LLM.load(m.model(), m.engine())) {
            SamplingParams params = samplingParams(a, llm.defaultSamplingParams());
            boolean textPrompts = prompts.get(0).text() != null;
            if (!json && textPrompts && prompts.size() == 1 && params.n() == 1) {
                stream(llm, prompts.get(0), params, out, err);
                return 0;
            }
            List<RequestOutput> outputs = llm.generatePrompts(prompts, params);
            for (RequestOutput o : outputs) {
                print(o, textPrompts, json, outputs.size() > 1 || params.n() > 1, out);
            }
            printStats(outputs, err);
        }
        return 0;
    }

    /** The model's defaults, overridden by what the command line gives. */
    static SamplingParams samplingParams(Args a, SamplingParams defaults) throws UsageException {
        SamplingParams.Builder b = defaults.toBuilder();
        try {
            // generation_config.json's max_new_tokens when it has one, else the CLI's default
            boolean libraryDefault = defaults.maxTokens().equals(SamplingParams.builder().build().maxTokens());
            b.maxTokens(a.intValue("--max-tokens", libraryDefault ? DEFAULT_MAX_TOKENS : defaults.maxTokens().orElse(0)));
            if (a.value("--temperature") != null) {
                b.temperature(a.doubleValue("--temperature", 0));
            }
            if (a.value("--top-k") != null) {
                b.topK(a.intValue("--top-k", 0));
            }
            if (a.value("--top-p") != null) {
                b.topP(a.doubleValue("--top-p", 1));
            }
            if (a.value("--min-p") != null) {
                b.minP(a.doubleValue("--min-p", 0));
            }
            if (a.value("--seed") != null) {
                b.seed(Long.parseLong(a.value("--seed")));
            }
            if (a.value("--repetition-penalty") != null) {
                b.repetitionPenalty(a.doubleValue("--repetition-penalty", 1));
            }
            if (a.value("--presence-penalty") != null) {
                b.presencePenalty(a.doubleValue("--presence-penalty", 0));
            }
            if (a.value("--frequency-penalty") != null) {
                b.frequencyPenalty(a.doubleValue("--frequency-penalty", 0));
            }
            if (a.value("--min-tokens") != null) {
                b.minTokens(a.intValue("--min-tokens", 0));
            }
            if (a.value("--stop") != null) {
                b.stop(a.value("--stop"));
            }
            if (a.value("--stop-token-ids") != null) {
                b.stopTokenIds(ModelOptions.tokenIds(a.value("--stop-token-ids")));
            }
            if (a.has("--ignore-eos")) {
                b.ignoreEos(true);
            }
            if (a.value("--n") != null) {
                b.n(a.intValue("--n", 1));
            }
            if (a.value("--logprobs") != null) {
                b.logprobs(a.intValue("--logprobs", 0));
            }
            return b.build();
        } catch (NumberFormatException e) {
            throw new UsageException("--seed: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** Streams one completion to {@code out}; on a terminal a live "[N tok, X tok/s]" status follows the text. */
    private static void stream(LLM llm, Prompt prompt, SamplingParams params, PrintStream out, PrintStream err) {
        java.io.Console console = System.console();
        boolean live = console != null && console.isTerminal();
        long start = System.nanoTime();
        long firstToken = 0;
        int tokens = 0;
        out.print(prompt.text());
        try (TokenStream s = llm.stream(prompt, params)) {
            for (CompletionDelta d : s) {
                if (d.newTokenIds().length > 0 && firstToken == 0) {
                    firstToken = System.nanoTime();
                }
                tokens += d.newTokenIds().length;
                if (live) {
                    // erase the old status, write the text, save the cursor, draw the status, restore
                    out.print("\033[K" + d.text() + "\0337\033[2m  [" + tokens + " tok, "
                            + rate(tokens - 1, firstToken, System.nanoTime()) + "]\033[0m\0338");
                } else {
                    out.print(d.text());
                }
                out.flush();
            }
            if (live) {
                out.print("\033[K");
            }
            out.println();
            out.flush();
            RequestOutput o = s.output();
            CompletionOutput c = o.outputs().get(0);
            err.printf("%d prompt + %d generated tokens in %.2f s: first token after %.0f ms, then %s (%s)%n",
                    o.promptTokenIds().length, c.tokenIds().length, (System.nanoTime() - start) / 1e9,
                    (firstToken - start) / 1e6, rate(c.tokenIds().length - 1, firstToken, System.nanoTime()),
                    String.valueOf(c.finishReason()));
        }
    }

    private static String rate(int tokens, long fromNanos, long toNanos) {
        double s = (toNanos - fromNanos) / 1e9;
        return tokens <= 0 || s <= 0 ? "- tok/s" : String.format("%.1f tok/s", tokens / s);
    }

    /** One line per completion: the ids, the prompt and its completion (a blank line after each when several), or JSON. */
    private static void print(RequestOutput o, boolean text, boolean json, boolean several, PrintStream out)
            throws Exception {
        for (CompletionOutput c : o.outputs()) {
            String ids = Arrays.stream(c.tokenIds()).mapToObj(Integer::toString)
                    .collect(Collectors.joining(json ? ", " : " "));
            if (json) {
                StringBuilder sb = new StringBuilder("{");
                if (text) {
                    sb.append("\"text\": ").append(JSON.writeValueAsString(c.text())).append(", ");
                }
                sb.append("\"token_ids\": [").append(ids).append("]");
                if (text) {
                    sb.append(", \"finish_reason\": ").append(JSON.writeValueAsString(String.valueOf(c.finishReason())));
                }
                if (c.logprobs() != null) {
                    sb.append(", \"logprobs\": ").append(JSON.writeValueAsString(c.logprobs().stream()
                            .map(GenerateCommand::tokenLogprobs).toList()));
                }
                out.println(sb.append("}"));
            } else if (text) {
                out.println(o.prompt() + c.text() + (several ? System.lineSeparator() : ""));
            } else {
                out.println(ids);
            }
        }
    }

    private static Map<String, Object> tokenLogprobs(TokenLogprobs t) {
        Map<String, Object> m = new LinkedHashMap<>(); // fixed key order: the output is diffable
        m.put("chosen", logprob(t.chosen()));
        m.put("top", t.top().stream().map(GenerateCommand::logprob).toList());
        return m;
    }

    /** vLLM's spelling of one logprob entry. */
    private static Map<String, Object> logprob(Logprob l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("token_id", l.tokenId());
        m.put("logprob", l.logprob());
        m.put("rank", l.rank());
        m.put("decoded_token", l.decodedToken());
        return m;
    }

    private static void printStats(List<RequestOutput> outputs, PrintStream err) {
        long generated = 0;
        double seconds = 0;
        for (RequestOutput o : outputs) {
            for (CompletionOutput c : o.outputs()) {
                generated += c.tokenIds().length;
            }
            seconds = Math.max(seconds, o.totalTime().toNanos() / 1e9);
        }
        err.printf("generated %d tokens in %.2f s (%.1f tok/s)%n", generated, seconds,
                seconds > 0 ? generated / seconds : 0);
    }
}
