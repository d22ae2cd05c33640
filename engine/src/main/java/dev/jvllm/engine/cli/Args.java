package dev.jvllm.engine.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small strict parser for subcommand arguments: {@code --name value}, {@code --name=value},
 * boolean {@code --flag}, positionals, and {@code --} to end options. An option not declared
 * is a {@link Command.UsageException}.
 *
 * <pre>{@code
 * Args a = Args.parse(args, Set.of("--json", "--help"), Set.of("--backend", "--max-tokens"));
 * int maxTokens = a.intValue("--max-tokens", 16);
 * }</pre>
 */
public final class Args {
    private final Map<String, String> values;
    private final Set<String> flags;
    private final List<String> positionals;

    private Args(Map<String, String> values, Set<String> flags, List<String> positionals) {
        this.values = values;
        this.flags = flags;
        this.positionals = positionals;
    }

    /**
     * @param flagNames options without a value (e.g. {@code "--json"})
     * @param valueNames options that take one value (e.g. {@code "--backend"}); given twice, the last wins
     */
    public static Args parse(List<String> args, Set<String> flagNames, Set<String> valueNames)
            throws Command.UsageException {
        Map<String, String> values = new LinkedHashMap<>();
        Set<String> flags = new java.util.LinkedHashSet<>();
        List<String> positionals = new ArrayList<>();
        boolean optionsEnded = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (optionsEnded || !a.startsWith("-") || a.equals("-")) {
                positionals.add(a);
                continue;
            }
            if (a.equals("--")) {
                optionsEnded = true;
                continue;
            }
            String name = a;
            String inline = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                inline = a.substring(eq + 1);
            }
            if (flagNames.contains(name)) {
                if (inline != null) {
                    throw new Command.UsageException("option " + name + " takes no value");
                }
                flags.add(name);
            } else if (valueNames.contains(name)) {
                if (inline == null) {
                    if (i + 1 >= args.size()) {
                        throw new Command.UsageException("option " + name + " needs a value");
                    }
                    inline = args.get(++i);
                }
                values.put(name, inline);
            } else {
                throw new Command.UsageException("unknown option: " + a);
            }
        }
        return new Args(values, flags, List.copyOf(positionals));
    }

    public boolean has(String flag) {
        return flags.contains(flag);
    }

    /** The option's value, or null when not given. */
    public String value(String name) {
        return values.get(name);
    }

    public String value(String name, String defaultValue) {
        return values.getOrDefault(name, defaultValue);
    }

    public int intValue(String name, int defaultValue) throws Command.UsageException {
        String v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new Command.UsageException("option " + name + " needs an integer, got \"" + v + "\"");
        }
    }

    public double doubleValue(String name, double defaultValue) throws Command.UsageException {
        String v = values.get(name);
        if (v == null) {
            return defaultValue;
        }
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new Command.UsageException("option " + name + " needs a number, got \"" + v + "\"");
        }
    }

    public List<String> positionals() {
        return positionals;
    }

    /** Fails unless there are between {@code min} and {@code max} positionals. */
    public Args requirePositionals(int min, int max, String what) throws Command.UsageException {
        if (positionals.size() < min) {
            throw new Command.UsageException("missing " + what);
        }
        if (positionals.size() > max) {
            throw new Command.UsageException("unexpected argument: " + positionals.get(max));
        }
        return this;
    }
}
