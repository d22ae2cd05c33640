package dev.jvllm.engine.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * The {@code jvllm} command line: {@code jvllm <subcommand> [options]}.
 *
 * <p>To add a subcommand, write a {@link Command} in this package and put it in
 * {@link #COMMANDS}.
 */
public final class Main {

    /** Every subcommand, in the order {@code jvllm help} lists them. */
    static final List<Command> COMMANDS = List.of(
            new GenerateCommand(),
            new ChatCommand(),
            new LogitsCommand(),
            new TokenizeCommand(),
            new BackendsCommand(),
            new ConformanceCommand(),
            new SaveRandomCommand(),
            new BenchCommand());

    private Main() {
    }

    public static void main(String[] args) {
        int code = run(Arrays.asList(args), System.out, System.err);
        System.out.flush();
        System.err.flush();
        System.exit(code);
    }

    /** The subcommands, for tests and for {@code help}. */
    public static List<Command> commands() {
        return COMMANDS;
    }

    /** Runs one command line in-process and returns its exit code. */
    public static int run(List<String> args, PrintStream out, PrintStream err) {
        if (args.isEmpty()) {
            printUsage(out);
            return 0;
        }
        String word = args.getFirst();
        List<String> rest = List.copyOf(args.subList(1, args.size()));
        if (word.equals("help") || word.equals("--help") || word.equals("-h")) {
            return help(rest, out, err);
        }
        Command command = find(word);
        if (command == null) {
            err.println("jvllm: unknown " + (word.startsWith("-") ? "option" : "command") + ": " + word);
            err.println("Run 'jvllm help' for the list of commands.");
            return 2;
        }
        if (rest.equals(List.of("--help")) || rest.equals(List.of("-h"))) {
            out.println(command.usage());
            return 0;
        }
        try {
            return command.run(rest, out, err);
        } catch (Command.UsageException e) {
            err.println("jvllm " + command.name() + ": " + e.getMessage());
            err.println("Run 'jvllm help " + command.name() + "' for usage.");
            return 2;
        } catch (OutOfMemoryError e) {
            String msg = String.valueOf(e.getMessage());
            err.println("jvllm " + command.name() + ": error: out of memory: " + msg + (msg.contains("Java heap")
                    ? " (the jvllm launcher caps the heap at 1 GiB: raise it, e.g. JVLLM_JAVA_OPTS=-Xmx4g)" : ""));
            return 1;
        } catch (Exception | LinkageError e) {
            String msg = e.getMessage();
            err.println("jvllm " + command.name() + ": error: " + (msg == null ? e.toString() : msg));
            if (debug()) {
                e.printStackTrace(err);
            } else {
                err.println("(set JVLLM_DEBUG=1 for the stack trace)");
            }
            return 1;
        }
    }

    private static int help(List<String> rest, PrintStream out, PrintStream err) {
        if (rest.isEmpty()) {
            printUsage(out);
            return 0;
        }
        if (rest.size() > 1) {
            err.println("jvllm help: expected at most one command name, got " + rest);
            return 2;
        }
        Command command = find(rest.getFirst());
        if (command == null) {
            err.println("jvllm help: unknown command: " + rest.getFirst());
            err.println("Run 'jvllm help' for the list of commands.");
            return 2;
        }
        out.println(command.usage());
        return 0;
    }

    private static Command find(String name) {
        for (Command c : COMMANDS) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        return null;
    }

    private static void printUsage(PrintStream out) {
        out.println("usage: jvllm <command> [options]");
        out.println();
        out.println("commands:");
        int width = "help".length();
        for (Command c : COMMANDS) {
            width = Math.max(width, c.name().length());
        }
        for (Command c : COMMANDS) {
            out.println("  " + pad(c.name(), width) + "  " + c.summary());
        }
        out.println("  " + pad("help", width) + "  show this list, or 'jvllm help <command>' for one command");
        out.println();
        out.println("./jvllm test [mvn args] runs the test suite.");
        out.println("JVM options: JVLLM_JAVA_OPTS (e.g. -Xmx8g); stack traces: JVLLM_DEBUG=1.");
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(Math.max(0, width - s.length()));
    }

    private static boolean debug() {
        String env = System.getenv("JVLLM_DEBUG");
        return (env != null && !env.isEmpty() && !env.equals("0")) || Boolean.getBoolean("jvllm.debug");
    }
}
