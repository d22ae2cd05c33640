package dev.jvllm.engine.chat;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.time.temporal.ChronoField;
import java.util.Locale;

/**
 * Python's {@code datetime.strftime} in the C locale, for the {@code strftime_now(format)} global that
 * Llama-3.2 and Granite templates use to write today's date into the system prompt.
 */
final class Strftime {
    private Strftime() {
    }

    static String format(LocalDateTime t, String format) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US));
                case 'w' -> sb.append(t.getDayOfWeek().getValue() % 7);
                case 'd' -> sb.append(two(t.getDayOfMonth()));
                case 'e' -> sb.append(String.format("%2d", t.getDayOfMonth()));
                case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.US));
                case 'm' -> sb.append(two(t.getMonthValue()));
                case 'y' -> sb.append(two(t.getYear() % 100));
                case 'Y' -> sb.append(t.getYear());
                case 'H' -> sb.append(two(t.getHour()));
                case 'I' -> sb.append(two(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'M' -> sb.append(two(t.getMinute()));
                case 'S' -> sb.append(two(t.getSecond()));
                case 'f' -> sb.append(String.format("%06d", t.get(ChronoField.MICRO_OF_SECOND)));
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case 'z', 'Z' -> { } // naive datetime, as datetime.now(): empty
                case 'D' -> sb.append(format(t, "%m/%d/%y"));
                case 'F' -> sb.append(format(t, "%Y-%m-%d"));
                case 'T' -> sb.append(format(t, "%H:%M:%S"));
                case 'R' -> sb.append(format(t, "%H:%M"));
                case 'c' -> sb.append(format(t, "%a %b %e %H:%M:%S %Y"));
                case 'x' -> sb.append(format(t, "%m/%d/%y"));
                case 'X' -> sb.append(format(t, "%H:%M:%S"));
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }

    private static String two(int v) {
        return v < 10 ? "0" + v : Integer.toString(v);
    }
}
