package dev.jvllm.engine.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What the Jinja2-to-jinjava rewrite produces (the parity test checks that the renders then agree). */
class JinjaSourceTest {

    private static String rewritten(String template) {
        return JinjaSource.prepare(template).text;
    }

    @Test
    void notTakesItsWholeOperand() {
        assertEquals("{% if not (x is defined) and not (y == 1) %}", rewritten("{% if not x is defined and not y == 1 %}"));
        assertEquals("{{ not (a|length > 2) or b }}", rewritten("{{ not a|length > 2 or b }}"));
        assertEquals("{{ x is not none }}{{ 'a' not in b }}", rewritten("{{ x is not none }}{{ 'a' not in b }}"));
        assertEquals("{{ f(not (a), b) }}", rewritten("{{ f(not a, b) }}"));
        assertEquals("{% elif not ('x' in y) %}", rewritten("{% elif not 'x' in y %}"));
    }

    @Test
    void keywordArgumentsAreGrouped() {
        assertEquals("{% set ns = namespace(a=(true), n=(messages|length - 1)) %}",
                rewritten("{% set ns = namespace(a=true, n=messages|length - 1) %}"));
        assertEquals("{% macro f(a=1) %}", rewritten("{% macro f(a=1) %}"));
    }

    @Test
    void slicesBecomePySlice() {
        assertEquals("{{ m[py_slice(none, none, -1)] }}{{ s[py_slice(1, none, none)] }}{{ [1, 2][0] }}",
                rewritten("{{ m[::-1] }}{{ s[1:] }}{{ [1, 2][0] }}"));
    }

    @Test
    void loopFiltersAreEvaluatedPerItem() {
        JinjaSource s = JinjaSource.prepare("{% for k, v in d.items() if k != 'x' %}{{ k }}{% endfor %}");
        assertEquals("{% for k, v in py_loop_filter(d.items(), 0) %}{{ k }}{% endfor %}", s.text);
        assertEquals(List.of(new JinjaSource.LoopFilter(List.of("k", "v"), "k != 'x'")), s.loopFilters);
    }

    @Test
    void whitespaceAsJinja2sLexer() {
        // lstrip_blocks only at line start; trim_blocks after block tags; one final newline dropped
        assertEquals("a {% if x %}b{% endif %}\nc", rewritten("a {% if x %}b{% endif %}\n\nc\n"));
        assertEquals("{% if x %}  b\n{% endif %}", rewritten("  {% if x %}\n  b\n  {% endif %}"));
        assertEquals("  {% if x %}\n", rewritten("  {%+ if x +%}\n\n"));
        assertEquals("x\ny", rewritten("x\r\ny"));
    }

    @Test
    void stringsCommentsAndRawAreUntouched() {
        assertEquals("{{ 'not a[1:2] %}' }}{# not x is y #}{% raw %}{{ not x }}{% endraw %}",
                rewritten("{{ 'not a[1:2] %}' }}{# not x is y #}{% raw %}{{ not x }}{% endraw %}"));
    }
}
