package dev.jresnet.weights;

import dev.jresnet.io.FileChecks;
import dev.jresnet.io.Limits;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads a state_dict saved by {@code torch.save} (the zip format of PyTorch 1.6 and later) without Python:
 * ARCHIVE/data.pkl is read by {@link PickleReader}, which runs no code, and each storage from ARCHIVE/data/KEY.
 *
 * <p>Every size is checked before anything is allocated from it: data.pkl against {@link Limits#HEADER_BYTES}, each
 * storage against {@link Limits#TENSOR_ELEMENTS} and its zip entry's declared size, each inflated entry against that
 * declared size (a zip bomb's header understates it), and all storages and all tensors of the file together against
 * {@link Limits#WEIGHT_ELEMENTS} (views sharing one storage, or entries compressed 1000:1, cannot multiply memory).
 */
public final class PthReader {
    private PthReader() {}

    public static WeightSet read(Path file) throws IOException {
        FileChecks.requireRegularFile(file, "weights file");
        try (ZipFile zip = new ZipFile(file.toFile())) {
            return read(file, zip);
        } catch (ZipException | EOFException e) {
            // java.util.zip says EOFException, without a message, for a central directory cut short
            throw new WeightFormatException(file + ": not a readable zip archive (torch.save format): "
                    + (e.getMessage() != null ? e.getMessage() : "it ends early (truncated?)"), e);
        }
    }

    private static WeightSet read(Path file, ZipFile zip) throws IOException {
        String prefix = archivePrefix(file, zip);
        ZipEntry order = zip.getEntry(prefix + "byteorder");
        if (order != null) {
            String bo = new String(bytes(file, zip, order, 64, null), StandardCharsets.US_ASCII).strip();
            if (!bo.equals("little")) {
                throw new WeightFormatException(file + ": " + order.getName() + " says \"" + bo
                        + "\", expected \"little\" (big-endian archives are not supported)");
            }
        }
        String pklName = prefix + "data.pkl";
        Object top = PickleReader.read(file + ": " + pklName,
                bytes(file, zip, zip.getEntry(pklName), Limits.HEADER_BYTES.value(), Limits.HEADER_BYTES));
        if (!(top instanceof Map<?, ?> dict)) {
            throw new WeightFormatException(file + ": " + pklName + " holds " + PickleReader.describe(top)
                    + ", expected a state_dict (a dict of tensors)");
        }
        // First pass: check every entry, and count each storage's users so it can be dropped after its last one.
        Map<String, PickleReader.StorageRef> storageTypes = new HashMap<>();
        Map<String, Integer> users = new HashMap<>();
        long gathered = 0;
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new WeightFormatException(file + ": state_dict key " + PickleReader.describe(e.getKey())
                        + " is not a string");
            }
            if (!(e.getValue() instanceof PickleReader.TensorRef t)) {
                throw new WeightFormatException(file + ": state_dict entry \"" + name + "\" is "
                        + (e.getValue() == null ? "None" : e.getValue().getClass().getSimpleName()) + ", expected a tensor");
            }
            PickleReader.StorageRef s = t.storage();
            PickleReader.StorageRef seen = storageTypes.putIfAbsent(s.key(), s);
            if (seen != null && !seen.equals(s)) {
                throw new WeightFormatException(file + ": tensor \"" + name + "\" uses storage " + s.key() + " as "
                        + s.type() + " x " + s.numel() + ", earlier tensors as " + seen.type() + " x " + seen.numel());
            }
            users.merge(s.key(), 1, Integer::sum);
            checkView(file, name, t);
            gathered += Elements.count(t.size());
            if (!Limits.WEIGHT_ELEMENTS.allows(gathered)) {
                throw new WeightFormatException(Limits.WEIGHT_ELEMENTS.exceeded(file + ": elements of the tensors up to \""
                        + name + "\"", gathered));
            }
        }
        long stored = 0;
        for (PickleReader.StorageRef s : storageTypes.values()) {
            stored += s.numel();
        }
        if (!Limits.WEIGHT_ELEMENTS.allows(stored)) {
            throw new WeightFormatException(Limits.WEIGHT_ELEMENTS.exceeded(file + ": elements of its "
                    + storageTypes.size() + " storages", stored));
        }
        // Second pass: read storages as tensors need them, each once, dropped after their last view.
        Map<String, ByteBuffer> storages = new HashMap<>();
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            String name = (String) e.getKey();
            PickleReader.TensorRef t = (PickleReader.TensorRef) e.getValue();
            PickleReader.StorageRef s = t.storage();
            ByteBuffer buf = storages.get(s.key());
            if (buf == null) {
                buf = storage(file, zip, prefix, name, s);
                storages.put(s.key(), buf);
            }
            entries.put(name, Elements.gather(name, s.type(), t.size(), buf, t.offset() * s.type().bytes(), t.stride()));
            if (users.merge(s.key(), -1, Integer::sum) == 0) {
                storages.remove(s.key());
            }
        }
        return new WeightSet(file, entries, Map.of());
    }

    /** The archive folder (its name varies with the torch version and the saved file's name), with a trailing slash. */
    private static String archivePrefix(Path file, ZipFile zip) throws WeightFormatException {
        List<String> found = new ArrayList<>();
        List<String> some = new ArrayList<>();
        for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
            String n = en.nextElement().getName();
            if (some.size() < 8) {
                some.add(n);
            }
            int slash = n.indexOf('/');
            if (slash > 0 && n.substring(slash + 1).equals("data.pkl")) {
                found.add(n.substring(0, slash + 1));
            }
        }
        if (found.size() != 1) {
            throw new WeightFormatException(file + ": expected one ARCHIVE/data.pkl entry, found " + found.size()
                    + " (entries: " + some + (zip.size() > some.size() ? ", ..." : "") + ")");
        }
        return found.get(0);
    }

    private static ByteBuffer storage(Path file, ZipFile zip, String prefix, String tensor, PickleReader.StorageRef s)
            throws IOException {
        String rec = prefix + "data/" + s.key();
        ZipEntry e = zip.getEntry(rec);
        if (e == null) {
            throw new WeightFormatException(file + ": tensor \"" + tensor + "\" needs storage record " + rec + ", which is missing");
        }
        if (!Limits.TENSOR_ELEMENTS.allows(s.numel())) {
            throw new WeightFormatException(Limits.TENSOR_ELEMENTS.exceeded(file + ": tensor \"" + tensor + "\": elements of storage "
                    + s.key() + " (" + s.type() + ")", s.numel()));
        }
        long expected = s.numel() * s.type().bytes();
        if (e.getSize() != expected) {
            throw new WeightFormatException(file + ": tensor \"" + tensor + "\": storage record " + rec + " holds "
                    + e.getSize() + " bytes, expected " + expected + " (" + s.numel() + " x " + s.type() + ")");
        }
        return ByteBuffer.wrap(bytes(file, zip, e, expected, Limits.ZIP_ENTRY_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Refuses a view whose shape is too large or whose furthest element lies outside its storage. */
    private static void checkView(Path file, String name, PickleReader.TensorRef t) throws WeightFormatException {
        String bad = Elements.checkDims(t.size());
        if (bad != null) {
            throw new WeightFormatException(file + ": tensor \"" + name + "\": " + bad);
        }
        long last = t.offset();
        boolean ok = t.offset() >= 0;
        try {
            for (int i = 0; i < t.size().length && ok; i++) {
                ok = t.stride()[i] >= 0;
                last = Math.addExact(last, Math.multiplyExact(t.size()[i] - 1, t.stride()[i]));
            }
        } catch (ArithmeticException overflow) {
            ok = false;
        }
        if (!ok || last >= t.storage().numel()) {
            throw new WeightFormatException(file + ": tensor \"" + name + "\" (size " + Elements.text(t.size())
                    + ", stride " + Elements.text(t.stride()) + ", storage offset " + t.offset()
                    + ") reaches element " + last + " of storage " + t.storage().key() + ", which holds "
                    + t.storage().numel() + " elements");
        }
    }

    /**
     * The whole of entry {@code e}, which must declare at most {@code max} bytes (and {@link Limits#ZIP_ENTRY_BYTES}),
     * read without ever holding more than it declares: an entry that inflates to more (a zip bomb) or less is
     * refused. {@code limit} words the error when the declared size is too large (null: a plain "more than max").
     */
    private static byte[] bytes(Path file, ZipFile zip, ZipEntry e, long max, Limits limit) throws IOException {
        long declared = e.getSize();
        String rec = file + ": record " + e.getName();
        if (declared < 0) {
            throw new WeightFormatException(rec + ": its zip entry declares no size");
        }
        long bound = Math.min(max, Limits.ZIP_ENTRY_BYTES.value());
        if (declared > bound) {
            Limits l = declared > Limits.ZIP_ENTRY_BYTES.value() ? Limits.ZIP_ENTRY_BYTES : limit;
            throw new WeightFormatException(l != null ? l.exceeded(rec + ": bytes declared", declared)
                    : rec + " holds " + declared + " bytes, more than the " + max + " expected");
        }
        if (declared > Integer.MAX_VALUE - 8) {
            throw new WeightFormatException(rec + " declares " + declared + " bytes, more than a Java array holds");
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) declared);
            if (b.length != declared) {
                throw new WeightFormatException(rec + " gave " + b.length + " bytes, its zip entry says " + declared);
            }
            if (in.read() != -1) {
                throw new WeightFormatException(rec + " inflates to more than the " + declared
                        + " bytes its zip entry declares (a corrupt or hostile archive)");
            }
            return b;
        } catch (ZipException | java.io.EOFException ex) {
            throw new WeightFormatException(rec + " is unreadable: " + ex.getMessage(), ex);
        }
    }
}
