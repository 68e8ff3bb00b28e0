package dev.jresnet.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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
 */
public final class PthReader {
    private PthReader() {}

    public static WeightSet read(Path file) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            return read(file, zip);
        } catch (ZipException e) {
            throw new WeightFormatException(file + ": not a readable zip archive (torch.save format): " + e.getMessage(), e);
        }
    }

    private static WeightSet read(Path file, ZipFile zip) throws IOException {
        String prefix = archivePrefix(file, zip);
        ZipEntry order = zip.getEntry(prefix + "byteorder");
        if (order != null) {
            String bo = new String(bytes(file, zip, order, 64), StandardCharsets.US_ASCII).strip();
            if (!bo.equals("little")) {
                throw new WeightFormatException(file + ": " + order.getName() + " says \"" + bo
                        + "\", expected \"little\" (big-endian archives are not supported)");
            }
        }
        String pklName = prefix + "data.pkl";
        Object top = PickleReader.read(file + ": " + pklName, bytes(file, zip, zip.getEntry(pklName), Integer.MAX_VALUE - 8));
        if (!(top instanceof Map<?, ?> dict)) {
            throw new WeightFormatException(file + ": " + pklName + " holds a " + top.getClass().getSimpleName()
                    + ", expected a state_dict (a dict of tensors)");
        }
        Map<String, ByteBuffer> storages = new HashMap<>();
        Map<String, PickleReader.StorageRef> storageTypes = new HashMap<>();
        Map<String, WeightSet.Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new WeightFormatException(file + ": state_dict key " + e.getKey() + " is not a string");
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
            ByteBuffer buf = storages.get(s.key());
            if (buf == null) {
                buf = storage(file, zip, prefix, name, s);
                storages.put(s.key(), buf);
            }
            entries.put(name, tensor(file, name, t, buf));
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
        if (s.numel() > (Integer.MAX_VALUE - 8) / s.type().bytes()) {
            throw new WeightFormatException(file + ": tensor \"" + tensor + "\": storage " + s.key() + " of "
                    + s.numel() + " x " + s.type() + " is larger than the 2 GiB a Java array holds");
        }
        long expected = s.numel() * s.type().bytes();
        if (e.getSize() != expected) {
            throw new WeightFormatException(file + ": tensor \"" + tensor + "\": storage record " + rec + " holds "
                    + e.getSize() + " bytes, expected " + expected + " (" + s.numel() + " x " + s.type() + ")");
        }
        return ByteBuffer.wrap(bytes(file, zip, e, (int) expected)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static WeightSet.Entry tensor(Path file, String name, PickleReader.TensorRef t, ByteBuffer buf)
            throws WeightFormatException {
        String bad = Elements.checkDims(t.size());
        if (bad != null) {
            throw new WeightFormatException(file + ": tensor \"" + name + "\": " + bad);
        }
        // the furthest element a view reaches must lie inside its storage
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
            throw new WeightFormatException(file + ": tensor \"" + name + "\" (size " + Arrays.toString(t.size())
                    + ", stride " + Arrays.toString(t.stride()) + ", storage offset " + t.offset()
                    + ") reaches element " + last + " of storage " + t.storage().key() + ", which holds "
                    + t.storage().numel() + " elements");
        }
        return Elements.gather(name, t.storage().type(), t.size(), buf, t.offset() * t.storage().type().bytes(), t.stride());
    }

    private static byte[] bytes(Path file, ZipFile zip, ZipEntry e, int max) throws IOException {
        if (e.getSize() > max) {
            throw new WeightFormatException(file + ": record " + e.getName() + " holds " + e.getSize()
                    + " bytes, more than the " + max + " expected");
        }
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readAllBytes();
            if (e.getSize() >= 0 && b.length != e.getSize()) {
                throw new WeightFormatException(file + ": record " + e.getName() + " gave " + b.length
                        + " bytes, its zip entry says " + e.getSize());
            }
            return b;
        } catch (ZipException | java.io.EOFException ex) {
            throw new WeightFormatException(file + ": record " + e.getName() + " is unreadable: " + ex.getMessage(), ex);
        }
    }
}
