package dev.jvllm.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvllm.api.Backend;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.cpu.CpuBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/**
 * Drives {@link BackendConformanceTest}'s factory by hand (as JUnit would) with the test-only
 * {@link ToyScaleSpec}, and checks what each dynamic test does: pass, skip, or fail with the case.
 */
class BackendConformanceTestTest {

    /** A subclass as a backend author writes it, over a host-computed scale (optionally broken). */
    static class Subject extends BackendConformanceTest {
        final boolean broken;
        final Path report;

        Subject(boolean broken, Path report) {
            this.broken = broken;
            this.report = report;
        }

        @Override
        protected Backend candidate() {
            return broken ? new ConformanceHarnessTest.WrongWhenWide(CpuBackend.create())
                    : new ToyScaleSpec.HostScale(CpuBackend.create());
        }

        @Override
        protected Backend reference() {
            return new ToyScaleSpec.HostScale(CpuBackend.create());
        }

        @Override
        protected String ops() {
            return "scale,rms_norm";
        }

        @Override
        protected String cases() {
            return null;
        }

        @Override
        protected int examples() {
            return 40;
        }

        @Override
        protected long seed() {
            return 11L;
        }

        @Override
        protected Path reportFile() {
            return report;
        }

        @Override
        Function<OpKind, OpSpec<?>> specLookup() {
            return k -> k == OpKind.SCALE ? new ToyScaleSpec() : null;
        }
    }

    /** Executes every dynamic test; returns container → (test name → "pass" / "skip: msg" / "fail: msg"). */
    private static Map<String, Map<String, String>> execute(BackendConformanceTest t) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        try {
            for (DynamicNode n : t.conformance().toList()) {
                DynamicContainer c = (DynamicContainer) n;
                Map<String, String> tests = new LinkedHashMap<>();
                for (DynamicNode child : c.getChildren().toList()) {
                    DynamicTest d = (DynamicTest) child;
                    String status;
                    try {
                        d.getExecutable().execute();
                        status = "pass";
                    } catch (TestAbortedException e) {
                        status = "skip: " + e.getMessage();
                    } catch (AssertionFailedError e) {
                        status = "fail: " + e.getMessage();
                    } catch (Throwable e) {
                        throw new AssertionError("dynamic test " + d.getDisplayName() + " threw " + e, e);
                    }
                    tests.put(d.getDisplayName(), status);
                }
                out.put(c.getDisplayName(), tests);
            }
        } finally {
            t.finishConformance();
        }
        return out;
    }

    @Test
    void oneContainerPerOpOneTestPerCaseUnsupportedSkippedMissingFails(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("conformance.md");
        Map<String, Map<String, String>> r = execute(new Subject(false, report));
        assertEquals(List.of("scale", "rms_norm"), List.copyOf(r.keySet()));
        Map<String, String> scale = r.get("scale");
        assertEquals("pass", scale.get("scale[T=1,H=1,f32]"));
        assertTrue(scale.values().stream().noneMatch(s -> s.startsWith("fail")), scale::toString);
        assertTrue(scale.entrySet().stream().anyMatch(e -> e.getKey().contains(",f16]")
                && e.getValue().startsWith("skip: ") && e.getValue().contains("not supported")), scale::toString);
        Map<String, String> rms = r.get("rms_norm");
        assertEquals(1, rms.size());
        assertTrue(rms.get("missing spec").startsWith("fail: the conformance suite has no spec for rms_norm"), rms::toString);
        String md = Files.readString(report);
        assertTrue(md.contains("| scale | elementwise |") && md.contains("| seed | 11 "), md);
    }

    @Test
    void aFailingCaseFailsItsTestWithTheShrunkNameAndSeed() {
        Map<String, String> scale = execute(new Subject(true, null)).get("scale");
        List<Map.Entry<String, String>> fails = scale.entrySet().stream().filter(e -> e.getValue().startsWith("fail"))
                .toList();
        assertEquals(1, fails.size(), scale::toString);
        assertEquals("scale[T=3,H=41,f32]", fails.getFirst().getKey());
        String msg = fails.getFirst().getValue();
        assertTrue(msg.contains("scale[T=3,H=41,f32] [f32] failed: out: element 122") && msg.contains("seed 11"), msg);
    }
}
