package dev.jvllm.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MainTest {

    /** Exit code and captured streams of one in-process run. */
    private record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = Main.run(List.of(args), o, e);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpListsEverySubcommand() {
        for (String[] args : new String[][] {{"help"}, {"--help"}, {}}) {
            Result r = run(args);
            assertEquals(0, r.code(), r.err());
            for (String name : List.of("generate", "logits", "tokenize", "backends", "conformance", "bench", "help")) {
                assertTrue(r.out().contains("  " + name + " "), () -> name + " missing from usage:\n" + r.out());
            }
        }
    }

    @Test
    void helpForOneCommand() {
        Result r = run("help", "backends");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("jvllm backends"), r.out());
        assertEquals(2, run("help", "nope").code());
    }

    @Test
    void unknownCommandExits2() {
        Result r = run("frobnicate");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown command: frobnicate"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void unknownTopLevelOptionExits2() {
        Result r = run("--frobnicate");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown option: --frobnicate"), r.err());
    }

    @Test
    void backendsRunsAndExits0() {
        Result r = run("backends");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("NAME"), r.out());
        // reference-cpu is a dependency of the engine, so its provider is always listed
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("cpu ")), r.out());
    }

    @Test
    void backendsRejectsUnknownOption() {
        Result r = run("backends", "--bogus");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown option: --bogus"), r.err());
    }

    @Test
    void argsParserIsStrict() throws Exception {
        Args a = Args.parse(List.of("--max-tokens=5", "--json", "--backend", "cpu", "prompt", "--", "--x"),
                Set.of("--json"), Set.of("--max-tokens", "--backend"));
        assertEquals(5, a.intValue("--max-tokens", 1));
        assertEquals("cpu", a.value("--backend"));
        assertTrue(a.has("--json"));
        assertEquals(List.of("prompt", "--x"), a.positionals());
        assertThrows(Command.UsageException.class,
                () -> Args.parse(List.of("--backend"), Set.of(), Set.of("--backend")));
        assertThrows(Command.UsageException.class,
                () -> Args.parse(List.of("--json=1"), Set.of("--json"), Set.of()));
    }
}
