package dev.jresnet.cli;

import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

import java.io.PrintWriter;
import java.util.Collection;
import java.util.Locale;

/**
 * Every mistake on the command line (unknown option or command, missing option or parameter, a value that does not
 * parse) as ONE line on stderr, with the closest name when one is near, instead of the whole usage text:
 * "jresnet: error: unknown option '--wieghts'; did you mean --weights? (`jresnet classify --help` lists the options)".
 */
final class UsageErrors implements CommandLine.IParameterExceptionHandler {
    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("jresnet: error: " + Terminal.safe(line(ex)));
        err.flush();
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** The one line, without the "jresnet: error: " prefix. */
    static String line(ParameterException ex) {
        CommandLine cmd = ex.getCommandLine();
        String what = ex.getMessage().replace('\n', ' ');
        String near = null;
        if (ex instanceof UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = u.getUnmatched().get(0);
            if (arg.startsWith("-")) {
                String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
                what = "unknown option '" + name + "'";
                near = closest(name, cmd.getCommandSpec().optionsMap().keySet());
            } else if (!cmd.getSubcommands().isEmpty()) {
                what = "unknown command '" + arg + "'";
                near = closest(arg, cmd.getSubcommands().keySet());
            }
        }
        boolean root = cmd.getParent() == null && !cmd.getSubcommands().isEmpty();
        return what + (near != null ? "; did you mean " + near + "?" : "") + " (`"
                + cmd.getCommandSpec().qualifiedName() + " --help` lists the " + (root ? "commands" : "options") + ")";
    }

    /** The candidate nearest to {@code typed} (edit distance, case-insensitive), if near enough to be a typo. */
    static String closest(String typed, Collection<String> candidates) {
        String t = typed.toLowerCase(Locale.ROOT);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String c : candidates) {
            int d = distance(t, c.toLowerCase(Locale.ROOT));
            if (d < bestDistance || d == bestDistance && c.length() > best.length()) {
                best = c;
                bestDistance = d;
            }
        }
        // A third of the name may be wrong (--wieghts, --tpo, clasify), but not a different word altogether.
        return best != null && bestDistance <= Math.max(1, t.length() / 3) ? best : null;
    }

    /** Levenshtein distance, a swap of neighbours counting 1 (optimal string alignment). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
