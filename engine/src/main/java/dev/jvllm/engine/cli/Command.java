package dev.jvllm.engine.cli;

import java.io.PrintStream;
import java.util.List;

/**
 * One {@code jvllm} subcommand. Implementations live in this package, one class per
 * subcommand ({@code GenerateCommand}, {@code BackendsCommand}, ...), and are registered in
 * {@link Main#COMMANDS}.
 *
 * <p>Exit codes: 0 success, 1 runtime failure, 2 usage error (throw {@link UsageException}
 * and {@link Main} prints the message and a hint, then exits 2). Write results to {@code out}
 * and everything else (progress, warnings) to {@code err}, so that {@code --json} output on
 * stdout stays machine-readable.
 */
public interface Command {

    /** The subcommand word, e.g. {@code "generate"}. */
    String name();

    /** One line for {@code jvllm help}. */
    String summary();

    /** Full usage text for {@code jvllm help NAME} and {@code jvllm NAME --help}; the summary by default. */
    default String usage() {
        return "usage: jvllm " + name() + "\n\n" + summary();
    }

    /**
     * Runs the subcommand.
     *
     * @param args the arguments after the subcommand word
     * @return the process exit code
     * @throws UsageException on a bad option or argument (exit 2)
     * @throws Exception on any other failure (reported, exit 1)
     */
    int run(List<String> args, PrintStream out, PrintStream err) throws Exception;

    /** A bad command line: {@link Main} prints the message and exits 2. */
    final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        public UsageException(String message) {
            super(message);
        }
    }
}
