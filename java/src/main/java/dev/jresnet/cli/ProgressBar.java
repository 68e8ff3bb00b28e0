package dev.jresnet.cli;

import dev.jresnet.finetune.TrainingListener;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * One progress line per phase (feature cache, an epoch's training, validation): on a terminal redrawn in place with
 * {@code \r} (at most 10 times a second); otherwise (a log, a pipe) printed as a plain line every
 * {@value #PLAIN_INTERVAL_SECONDS} seconds of a phase still running, so that logs stay short and a phase that
 * ends sooner prints nothing (the epoch's summary line follows).
 */
final class ProgressBar {
    private static final int WIDTH = 24;
    private static final long REDRAW_NANOS = 100_000_000L;
    static final int PLAIN_INTERVAL_SECONDS = 10;

    private final PrintWriter out;
    private final boolean terminal;
    private TrainingListener.Phase phase;
    private int epoch = -1;
    private int total = -1;
    private long lastDraw;
    private int lastLength;
    private boolean open;

    ProgressBar(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** Whether stderr looks like an interactive terminal (no redirect): the JVM has a console. */
    static boolean isTerminal() {
        return System.console() != null && !"dumb".equals(System.getenv("TERM"));
    }

    void update(TrainingListener.Progress p) {
        boolean newPhase = p.phase() != phase || p.epoch() != epoch || p.total() != total;
        if (newPhase) {
            finish();
            phase = p.phase();
            epoch = p.epoch();
            total = p.total();
            lastDraw = terminal ? 0 : System.nanoTime();
        }
        draw(render(p), p.done() >= p.total());
    }

    /**
     * Shows {@code line} as the current state of a phase (a training epoch, a download): redrawn in place on a
     * terminal, else a plain line every {@value #PLAIN_INTERVAL_SECONDS} s; {@code done} ends the phase's line.
     */
    void draw(String line, boolean done) {
        if (terminal) {
            long now = System.nanoTime();
            if (done || now - lastDraw >= REDRAW_NANOS) {
                String padded = line.length() < lastLength ? line + " ".repeat(lastLength - line.length()) : line;
                out.print("\r" + padded);
                out.flush();
                lastLength = line.length();
                lastDraw = now;
                open = true;
            }
            if (done) {
                finish();
            }
        } else {
            long now = System.nanoTime();
            if (!done && now - lastDraw >= PLAIN_INTERVAL_SECONDS * 1_000_000_000L) {
                out.println(line);
                out.flush();
                lastDraw = now;
            }
        }
    }

    /** Ends a line being redrawn, so that the next output starts on its own line. */
    void finish() {
        if (open) {
            out.println();
            out.flush();
            open = false;
            lastLength = 0;
        }
    }

    /** Starts a phase that is not a training one (a download): plain output waits a full interval from now. */
    void start() {
        finish();
        phase = null;
        lastDraw = terminal ? 0 : System.nanoTime();
    }

    /** {@code [####....]} for {@code done} of {@code total} (total 0: full). */
    static String bar(long done, long total) {
        int filled = total <= 0 ? WIDTH : (int) Math.min(WIDTH, WIDTH * Math.max(0, done) / total);
        return "[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "]";
    }

    static String render(TrainingListener.Progress p) {
        String label = switch (p.phase()) {
            case FEATURE_CACHE -> "features   ";
            case TRAIN -> String.format(Locale.ROOT, "epoch %d/%d", p.epoch(), p.epochs());
            case VALIDATE -> "  validate ";
        };
        int filled = p.total() == 0 ? WIDTH : (int) Math.min(WIDTH, (long) WIDTH * p.done() / p.total());
        StringBuilder sb = new StringBuilder(label).append(" [").append("#".repeat(filled))
                .append(".".repeat(WIDTH - filled)).append("] ");
        sb.append(String.format(Locale.ROOT, "%d/%d  %.1f img/s", p.done(), p.total(), p.imagesPerSecond()));
        if (!Double.isNaN(p.loss())) {
            sb.append(String.format(Locale.ROOT, "  loss %.4f", p.loss()));
        }
        sb.append("  ETA ").append(duration(p.done() >= p.total() ? 0 : p.etaSeconds()));
        return sb.toString();
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
