package dev.jvllm.engine.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.doubles;
import static org.quicktheories.generators.SourceDSL.strings;

import java.math.BigDecimal;
import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Python pieces templates lean on, checked against values Python 3.11 prints (the parity test covers
 * them inside real templates; these pin the edge cases).
 */
class PythonSemanticsTest {

    @Test
    void floatReprMatchesPython() {
        // python3 -c 'print([repr(x) for x in (0.1, 100.0, 1e16, 1e-5, 1.5e-4, 123456789012345.6, -0.0, 2.5e300)])'
        String[] python = {"0.1", "100.0", "1e+16", "1e-05", "0.00015", "123456789012345.6", "-0.0", "2.5e+300"};
        double[] values = {0.1, 100.0, 1e16, 1e-5, 1.5e-4, 123456789012345.6, -0.0, 2.5e300};
        for (int i = 0; i < values.length; i++) {
            assertEquals(python[i], PyJson.floatRepr(values[i]));
        }
    }

    @Test
    void floatReprRoundTrips() {
        qt().forAll(doubles().any()).checkAssert(d -> {
            if (Double.isFinite(d)) {
                assertEquals(d, Double.parseDouble(PyJson.floatRepr(d)));
                assertEquals(new BigDecimal(Double.toString(d)).compareTo(new BigDecimal(PyJson.floatRepr(d))), 0);
            }
        });
    }

    @Test
    void jsonDumpsLikePython() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", List.of(1, 2.5, true));
        m.put("a", Arrays.asList(null, "é\"\\\n\u0001</x>"));
        m.put("e", Map.of());
        // json.dumps(m, ensure_ascii=False) / indent=2 / separators=(',', ':'), sort_keys=True
        assertEquals("{\"b\": [1, 2.5, true], \"a\": [null, \"é\\\"\\\\\\n\\u0001</x>\"], \"e\": {}}",
                PyJson.dumps(m, null, null, null, false));
        assertEquals("{\n  \"b\": [\n    1,\n    2.5,\n    true\n  ],\n  \"a\": [\n    null,\n    \"é\\\"\\\\\\n\\u0001</x>\"\n  ],\n"
                + "  \"e\": {}\n}", PyJson.dumps(m, 2, null, null, false));
        assertEquals("{\"a\":[null,\"é\\\"\\\\\\n\\u0001</x>\"],\"b\":[1,2.5,true],\"e\":{}}",
                PyJson.dumps(m, null, ",", ":", true));
    }

    @Test
    void stringMethods() {
        assertEquals("x", PyMethods.strip("\u00a0\u2003 x\t\n\u0085", null, true, true));
        assertEquals("<x", PyMethods.strip("<x>>", ">", true, true));
        assertEquals(List.of("a", "b", "c"), PyMethods.split("  a \t b\nc ", null, -1));
        assertEquals(List.of("a", "b c "), PyMethods.split("  a b c ", null, 1));
        assertEquals(List.of("a", "", "b"), PyMethods.split("a,,b", ",", -1));
        assertEquals(List.of(""), PyMethods.split("", ",", -1));
        assertEquals(List.of(), PyMethods.split("   ", null, -1));
        assertEquals("They'Re 3Rd-Rate ǅungla", PyMethods.title("they're 3rd-rate ǆungla"));
    }

    @Test
    void splitThenJoinRoundTrips() {
        qt().forAll(strings().allPossible().ofLengthBetween(0, 30), strings().betweenCodePoints('a', 'c')
                .ofLengthBetween(1, 2)).checkAssert((s, sep) -> assertEquals(s,
                        String.join(sep, PyMethods.split(s, sep, -1))));
    }

    @Test
    void slicesLikePython() {
        // python3 -c 's="abcdef"; print(s[::-1], s[1:5:2], s[-2:], s[:-10], s[10:], s[5:1:-2], s[-1::-3])'
        String[] python = {"fedcba", "bd", "ef", "", "", "fd", "fc"};
        Long[][] slices = {{null, null, -1L}, {1L, 5L, 2L}, {-2L, null, null}, {null, -10L, null},
                {10L, null, null}, {5L, 1L, -2L}, {-1L, null, -3L}};
        for (int i = 0; i < slices.length; i++) {
            assertEquals(python[i], PyMethods.sliced("abcdef", slices[i][0], slices[i][1], slices[i][2]));
        }
        assertEquals(List.of(3, 1), PyMethods.sliced(List.of(0, 1, 2, 3), -1L, 0L, -2L));
    }

    @Test
    void strftimeLikePython() {
        // python3 -c 'import datetime; print(datetime.datetime(2024,3,5,7,8,9).strftime(
        //   "%a %A %w %d %b %B %m %y %Y %H %I %p %M %S %f %j %% %e"))'
        assertEquals("Tue Tuesday 2 05 Mar March 03 24 2024 07 07 AM 08 09 000000 065 %  5",
                Strftime.format(LocalDateTime.of(2024, 3, 5, 7, 8, 9),
                        "%a %A %w %d %b %B %m %y %Y %H %I %p %M %S %f %j %% %e"));
    }

    @Test
    void reprLikePython() {
        // python3 -c 'print(repr(["it\'s", "a\"b", "x\ty", None, True, 1.5, {"k": "v"}]))'
        assertEquals("[\"it's\", 'a\"b', 'x\\ty', None, True, 1.5, {'k': 'v'}]",
                PyStr.repr(Arrays.asList("it's", "a\"b", "x\ty", null, true, 1.5, Map.of("k", "v"))));
    }
}
