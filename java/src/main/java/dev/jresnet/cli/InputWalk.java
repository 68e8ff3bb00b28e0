package dev.jresnet.cli;

import dev.jresnet.image.ImageFiles;
import dev.jresnet.io.Limits;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;

/**
 * The INPUT arguments of {@code classify} as the files to read, in order: a file as given; a folder walked depth
 * first in name order (so runs are reproducible), yielding its images ({@link ImageFiles#EXTENSIONS}) and .npy files
 * and skipping hidden names (".*") and other files, not entering linked folders (a link cycle would never end). Lazy:
 * one sorted listing per open folder, never the whole tree. A folder with nothing to read, a folder that cannot be
 * listed, a folder too large for {@link Limits#FILES_PER_RUN} and the input past it come out as an {@link Input}
 * carrying the reason; after the input past the bound nothing more is taken.
 */
final class InputWalk implements Iterator<InputWalk.Input> {
    /** A file to classify, or (error not null) a reason to report under that name. */
    record Input(Path path, String error) {}

    private static final String WHAT = "images (" + String.join(" ", ImageFiles.EXTENSIONS) + ") or .npy files";

    private final Iterator<Path> arguments;
    /** The open folders' remaining entries, innermost first. */
    private final Deque<Iterator<Path>> open = new ArrayDeque<>();
    /** The folder argument being walked, and whether it gave anything yet. */
    private Path root;
    private boolean rootGave;
    private Input next;
    private long taken;
    private boolean stopped;

    InputWalk(List<Path> arguments) {
        this.arguments = arguments.iterator();
    }

    @Override
    public boolean hasNext() {
        if (next == null && !stopped) {
            next = advance();
            if (next != null) {
                next = counted(next);
            }
        }
        return next != null;
    }

    @Override
    public Input next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Input r = next;
        next = null;
        return r;
    }

    private Input advance() {
        while (true) {
            if (open.isEmpty()) {
                if (!arguments.hasNext()) {
                    return null;
                }
                Path p = arguments.next();
                if (!Files.isDirectory(p)) {
                    return new Input(p, null); // missing, a pipe...: the reader names what it is
                }
                root = p;
                rootGave = false;
                Input failed = enter(p);
                if (failed != null) {
                    return failed;
                }
                continue;
            }
            Iterator<Path> entries = open.peek();
            if (!entries.hasNext()) {
                open.pop();
                if (open.isEmpty() && !rootGave) {
                    return new Input(root, "holds no " + WHAT + " (hidden files are skipped)");
                }
                continue;
            }
            Path e = entries.next();
            String name = e.getFileName().toString();
            if (name.startsWith(".")) {
                continue;
            }
            if (Files.isDirectory(e, LinkOption.NOFOLLOW_LINKS)) {
                Input failed = enter(e);
                if (failed != null) {
                    rootGave = true;
                    return failed;
                }
            } else if (ImageFiles.hasImageExtension(e) || name.toLowerCase(Locale.ROOT).endsWith(".npy")) {
                rootGave = true;
                return new Input(e, null);
            }
        }
    }

    /**
     * Opens a folder (sorted listing) on the stack; a folder that cannot be listed, or whose entries would take the
     * run past {@link Limits#FILES_PER_RUN}, is an input with its reason. The listing stops one entry past the bound:
     * millions of names are never held to find that out, and since a cut listing cannot be sorted, such a folder is
     * refused whole rather than walked in an arbitrary part.
     */
    private Input enter(Path folder) {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(folder)) {
            for (Path e : s) {
                entries.add(e);
                if (!Limits.FILES_PER_RUN.allows(taken + entries.size())) {
                    return new Input(folder, Limits.FILES_PER_RUN.exceeded("input files with the entries of this "
                            + "folder", taken + entries.size()) + "; it was not read");
                }
            }
        } catch (IOException e) {
            return new Input(folder, "cannot list the folder: " + ClassifyCommand.reason(e, folder.toString()));
        }
        entries.sort(null);
        open.push(entries.iterator());
        return null;
    }

    /** Counts inputs against {@link Limits#FILES_PER_RUN}; the one past it stops the walk. */
    private Input counted(Input in) {
        if (!Limits.FILES_PER_RUN.allows(++taken)) {
            stopped = true;
            open.clear();
            return new Input(in.path, Limits.FILES_PER_RUN.exceeded("input files", taken)
                    + "; this and later inputs were not read");
        }
        return in;
    }
}
