package dev.jvllm.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConformanceCommandTest {

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
    void isRegisteredWithUsage() {
        Result r = run("help", "conformance");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("--backend NAME") && r.out().contains("--perf") && r.out().contains("--report"),
                r.out());
    }

    @Test
    void badOptionsAreUsageErrors() {
        for (String[] args : new String[][] {
                {"conformance", "--op", "nrom"},
                {"conformance", "--case", "a[("},
                {"conformance", "--examples", "-1"},
                {"conformance", "--seed", "x"},
                {"conformance", "--backend", "no-such-backend"},
                {"conformance", "extra"}}) {
            Result r = run(args);
            assertEquals(2, r.code(), () -> List.of(args) + ": " + r.err());
            assertTrue(r.err().startsWith("jvllm conformance: "), r.err());
        }
        assertTrue(run("conformance", "--op", "nrom").err().contains("rms_norm"), "lists the valid ops");
        assertTrue(run("conformance", "--backend", "no-such-backend").err().contains("cpu"), "lists the backends");
    }

    @Test
    void runsTheCpuSuiteForOneOpWritesTheReportAndExitsByTheResult(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("sub/r.md");
        Result r = run("conformance", "--backend", "cpu", "--op", "copy", "--examples", "3", "--seed", "5",
                "--report", report.toString());
        assertTrue(r.out().contains("seed 5 (rerun with --seed 5)"), r.out());
        assertTrue(r.out().contains("Vector API") && r.out().contains("scalar form"),
                "cpu is checked against its scalar form:\n" + r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("copy ")), r.out());
        boolean pass = r.out().contains("\nPASS: ");
        assertTrue(pass || r.out().contains("\nFAIL: "), r.out());
        assertEquals(pass ? 0 : 1, r.code(), r.out() + r.err());
        String md = Files.readString(report);
        assertTrue(md.startsWith("# jvllm conformance report"), md);
        assertTrue(md.contains("| copy | data |"), md);
        assertTrue(md.contains("| seed | 5 "), md);
    }
}
