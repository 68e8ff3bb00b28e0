package dev.jresnet.weights;

import dev.jresnet.io.Limits;
import dev.jresnet.tensor.DataType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle reader for the data.pkl of a torch.save archive that executes nothing: it interprets only the
 * opcodes torch emits and knows only the globals a state_dict needs, so a file that names anything else
 * (os.system, builtins.eval, ...) is rejected instead of run. Tuples become Object[], lists ArrayList,
 * dicts LinkedHashMap (insertion order is the file's key order).
 *
 * <p>Hostile pickles are bounded: at most {@link Limits#PICKLE_OBJECTS} opcodes, containers nested at most
 * {@link Limits#NESTING_DEPTH} deep, and only hashable dict keys (str, int, float, bool, None and tuples of these, as
 * Python requires; torch's state_dicts use str keys). Lists and dicts as keys would make Java hash them
 * recursively: a list holding itself overflowed the stack, lists sharing children hashed for ever. Nothing here
 * recurses on the input's structure (equals, hashCode and toString of containers are never called).
 */
final class PickleReader {
    /** A storage named by a persistent id: the archive record data/KEY holding NUMEL elements. */
    record StorageRef(String key, DataType type, long numel) {}

    /** What torch._utils._rebuild_tensor_v2 would build: a strided view of a storage. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    private record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    private static final Object MARK = new Object();

    private static final Map<String, DataType> STORAGES = Map.of(
            "FloatStorage", DataType.F32,
            "HalfStorage", DataType.F16,
            "BFloat16Storage", DataType.BF16,
            "DoubleStorage", DataType.F64,
            "LongStorage", DataType.I64,
            "IntStorage", DataType.I32,
            "ByteStorage", DataType.U8);

    private final String where;
    private final ByteBuffer in;
    private final List<Object> stack = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    /** Nesting depth of each container built so far (1 for an empty one; scalars count 0). */
    private final Map<Object, Integer> depths = new IdentityHashMap<>();
    /** Tuples whose elements are all hashable; known when the (immutable) tuple is built, so a key check is O(1). */
    private final Set<Object> hashableTuples = Collections.newSetFromMap(new IdentityHashMap<>());
    private final long maxOps = Limits.PICKLE_OBJECTS.value();
    private final long maxDepth = Limits.NESTING_DEPTH.value();
    private long ops;
    private int opPos;

    private PickleReader(String where, byte[] data) {
        this.where = where;
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Reads one pickle; {@code where} (file and record) starts every error message. */
    static Object read(String where, byte[] data) throws WeightFormatException {
        try {
            return new PickleReader(where, data).run();
        } catch (java.nio.BufferUnderflowException e) {
            throw new WeightFormatException(where + ": pickle ends early (truncated after " + data.length + " bytes)");
        }
    }

    private WeightFormatException error(String what) {
        return new WeightFormatException(where + ": " + what + " (pickle opcode at byte " + opPos + ")");
    }

    private Object run() throws WeightFormatException {
        while (true) {
            opPos = in.position();
            if (++ops > maxOps) {
                throw error(Limits.PICKLE_OBJECTS.exceeded("pickle opcodes", ops));
            }
            int op = in.get() & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = in.get() & 0xff;
                    if (proto > 5) {
                        throw error("unsupported pickle protocol " + proto);
                    }
                }
                case 0x95 -> in.getLong(); // FRAME: only a read-ahead hint
                case '.' -> { // STOP
                    if (stack.size() != 1) {
                        throw error("STOP with " + stack.size() + " values on the stack, expected 1");
                    }
                    return stack.get(0);
                }
                case '}' -> push(container(new LinkedHashMap<>()));
                case ']' -> push(container(new ArrayList<>()));
                case ')' -> push(tuple());
                case '(' -> push(MARK);
                case 'd' -> {
                    Object[] items = popMark();
                    push(holding(toDict(items), items));
                }
                case 'l' -> {
                    Object[] items = popMark();
                    push(holding(new ArrayList<>(Arrays.asList(items)), items));
                }
                case 't' -> push(tuple(popMark()));
                case 0x85 -> push(tuple(pop()));
                case 0x86 -> {
                    Object b = pop();
                    Object a = pop();
                    push(tuple(a, b));
                }
                case 0x87 -> {
                    Object c = pop();
                    Object b = pop();
                    Object a = pop();
                    push(tuple(a, b, c));
                }
                case 'X' -> push(string(in.getInt() & 0xffffffffL));
                case 0x8c -> push(string(in.get() & 0xff));
                case 0x8d -> push(string(in.getLong()));
                case 'q' -> memo.put((long) (in.get() & 0xff), peek());
                case 'r' -> memo.put(in.getInt() & 0xffffffffL, peek());
                case 0x94 -> memo.put((long) memo.size(), peek());
                case 'h' -> push(memoGet(in.get() & 0xff));
                case 'j' -> push(memoGet(in.getInt() & 0xffffffffL));
                case 'c' -> push(global(line(), line()));
                case 0x93 -> {
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw error("STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 'J' -> push((long) in.getInt());
                case 'K' -> push((long) (in.get() & 0xff));
                case 'M' -> push((long) (in.getShort() & 0xffff));
                case 0x8a -> push(long1(in.get() & 0xff));
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'N' -> push(null);
                case 'G' -> push(in.order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT is big-endian
                case 's' -> {
                    Object v = pop();
                    Object k = pop();
                    Object d = peek();
                    dict(d).put(key(k), v);
                    holding(d, k, v);
                }
                case 'u' -> {
                    Object[] items = popMark();
                    Object d = peek();
                    dict(d).putAll(toDict(items));
                    holding(d, items);
                }
                case 'a' -> {
                    Object v = pop();
                    Object l = peek();
                    list(l).add(v);
                    holding(l, v);
                }
                case 'e' -> {
                    Object[] items = popMark();
                    Object l = peek();
                    list(l).addAll(Arrays.asList(items));
                    holding(l, items);
                }
                case '0' -> pop(); // POP
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'Q' -> push(persistentLoad(pop()));
                case 'R' -> {
                    Object args = pop();
                    Object fn = pop();
                    push(reduce(fn, args));
                }
                case 'b' -> {
                    pop(); // the state
                    // torch pickles a state_dict's _metadata as the OrderedDict's instance state: ignored.
                    if (!(peek() instanceof Map)) {
                        throw error("BUILD on " + describe(peek()) + "; only a dict's state is tolerated");
                    }
                }
                default -> throw error(String.format("unsupported pickle opcode 0x%02x", op));
            }
            in.order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() throws WeightFormatException {
        if (stack.isEmpty()) {
            throw error("stack underflow");
        }
        Object o = stack.remove(stack.size() - 1);
        if (o == MARK) {
            throw error("unexpected MARK");
        }
        return o;
    }

    private Object peek() throws WeightFormatException {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
            throw error("stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private Object[] popMark() throws WeightFormatException {
        int i = stack.size() - 1;
        while (i >= 0 && stack.get(i) != MARK) {
            i--;
        }
        if (i < 0) {
            throw error("no MARK on the stack");
        }
        List<Object> top = stack.subList(i, stack.size());
        Object[] items = top.subList(1, top.size()).toArray();
        top.clear();
        return items;
    }

    private Object memoGet(long i) throws WeightFormatException {
        if (!memo.containsKey(i)) {
            throw error("memo index " + i + " was never stored");
        }
        return memo.get(i);
    }

    private Map<Object, Object> toDict(Object[] items) throws WeightFormatException {
        if (items.length % 2 != 0) {
            throw error("odd number of dict items: " + items.length);
        }
        Map<Object, Object> d = new LinkedHashMap<>();
        for (int i = 0; i < items.length; i += 2) {
            d.put(key(items[i]), items[i + 1]);
        }
        return d;
    }

    /** {@code k} if Python could hash it, else the error Python's TypeError would be. */
    private Object key(Object k) throws WeightFormatException {
        boolean hashable = k == null || k instanceof String || k instanceof Long || k instanceof Double
                || k instanceof Boolean || k instanceof Object[] && hashableTuples.contains(k);
        if (!hashable) {
            throw error("a dict key is " + kind(k) + ", which Python cannot hash; keys must be str, int, float, bool,"
                    + " None or tuples of these");
        }
        return k;
    }

    private static String kind(Object o) {
        return o instanceof Object[] ? "a tuple holding a list, dict or object" : o instanceof List ? "a list"
                : o instanceof Map ? "a dict" : "a " + o.getClass().getSimpleName();
    }

    /** A new empty list or dict: depth 1. */
    private Object container(Object c) {
        depths.put(c, 1);
        return c;
    }

    /** A tuple of {@code items}: its depth and whether it is hashable are fixed here, since tuples never change. */
    private Object[] tuple(Object... items) throws WeightFormatException {
        holding(items, items);
        boolean hashable = true;
        for (Object o : items) {
            if (!(o == null || o instanceof String || o instanceof Long || o instanceof Double || o instanceof Boolean
                    || o instanceof Object[] && hashableTuples.contains(o))) {
                hashable = false;
                break;
            }
        }
        if (hashable) {
            hashableTuples.add(items);
        }
        return items;
    }

    /**
     * Records that {@code container} now holds {@code items}, raising its depth to one more than theirs, and refuses
     * nesting deeper than {@link Limits#NESTING_DEPTH}. (The depth of an outer container is not raised when an inner
     * one grows later; nothing here recurses on depth, so the bound is a guard against absurd files, not a safety.)
     */
    private Object holding(Object container, Object... items) throws WeightFormatException {
        int d = depths.getOrDefault(container, 1);
        for (Object o : items) {
            Integer inner = depths.get(o);
            if (inner != null && inner + 1 > d) {
                d = inner + 1;
            }
        }
        if (d > maxDepth) {
            throw error(Limits.NESTING_DEPTH.exceeded("containers nested deep", d));
        }
        depths.put(container, d);
        return container;
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) throws WeightFormatException {
        if (!(o instanceof Map)) {
            throw error("SETITEM(S) on " + describe(o) + ", expected a dict");
        }
        return (Map<Object, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) throws WeightFormatException {
        if (!(o instanceof List)) {
            throw error("APPEND(S) on " + describe(o) + ", expected a list");
        }
        return (List<Object>) o;
    }

    private String string(long n) throws WeightFormatException {
        if (n < 0 || n > in.remaining()) {
            throw error("string of " + n + " bytes but only " + in.remaining() + " remain");
        }
        byte[] b = new byte[(int) n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private String line() throws WeightFormatException {
        int start = in.position();
        while (in.hasRemaining()) {
            if (in.get() == '\n') {
                return new String(in.array(), start, in.position() - start - 1, StandardCharsets.UTF_8);
            }
        }
        throw error("GLOBAL name without end of line");
    }

    private long long1(int n) throws WeightFormatException {
        if (n > 8) {
            throw error("LONG1 of " + n + " bytes does not fit in 64 bits");
        }
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (in.get() & 0xffL) << (8 * i);
        }
        if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) {
            v |= -1L << (8 * n); // sign-extend the two's complement value
        }
        return v;
    }

    private Global global(String module, String name) throws WeightFormatException {
        Global g = new Global(module, name);
        boolean known = switch (g.qualified()) {
            case "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
                    "torch._utils._rebuild_parameter_with_state" -> true;
            default -> module.equals("torch") && STORAGES.containsKey(name);
        };
        if (!known) {
            String shown = g.qualified().length() > 80 ? g.qualified().substring(0, 80) + "..." : g.qualified();
            throw error("refusing pickle global " + shown + ": a state_dict only needs OrderedDict, "
                    + "torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage");
        }
        return g;
    }

    private Object persistentLoad(Object pid) throws WeightFormatException {
        // torch writes ('storage', <storage class>, key, location, numel)
        if (!(pid instanceof Object[] t) || t.length != 5 || !"storage".equals(t[0])) {
            throw error("persistent id " + describe(pid) + " is not ('storage', type, key, location, numel)");
        }
        if (!(t[1] instanceof Global g) || !g.module.equals("torch") || !STORAGES.containsKey(g.name)) {
            throw error("persistent id names storage type " + describe(t[1]));
        }
        if (!(t[2] instanceof String key) || !(t[4] instanceof Long numel) || numel < 0) {
            throw error("persistent id has key " + describe(t[2]) + " and numel " + describe(t[4]));
        }
        return new StorageRef(key, STORAGES.get(g.name), numel);
    }

    private Object reduce(Object fn, Object args) throws WeightFormatException {
        if (!(fn instanceof Global g)) {
            throw error("REDUCE calls " + describe(fn) + ", not a global");
        }
        if (!(args instanceof Object[] a)) {
            throw error("REDUCE of " + g.qualified() + " with arguments " + describe(args) + ", not a tuple");
        }
        switch (g.qualified()) {
            case "collections.OrderedDict" -> {
                if (a.length != 0) {
                    throw error("OrderedDict called with " + a.length + " arguments, expected none");
                }
                return new LinkedHashMap<>();
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.length < 6 || a.length > 7 || !(a[0] instanceof StorageRef s) || !(a[1] instanceof Long off)) {
                    throw error("_rebuild_tensor_v2 arguments " + describe(args)
                            + ", expected (storage, offset, size, stride, requires_grad, hooks[, metadata])");
                }
                long[] size = longs(a[2], "size");
                long[] stride = longs(a[3], "stride");
                if (size.length != stride.length) {
                    throw error("tensor size " + Elements.text(size) + " and stride " + Elements.text(stride)
                            + " differ in rank");
                }
                return new TensorRef(s, off, size, stride);
            }
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                if (a.length < 3 || !(a[0] instanceof TensorRef t)) {
                    throw error(g.name + " arguments " + describe(args) + ", expected (tensor, requires_grad, hooks...)");
                }
                return t;
            }
            default -> throw error("refusing to call " + g.qualified());
        }
    }

    private long[] longs(Object o, String what) throws WeightFormatException {
        if (!(o instanceof Object[] t)) {
            throw error("tensor " + what + " is " + describe(o) + ", expected a tuple of ints");
        }
        long[] r = new long[t.length];
        for (int i = 0; i < t.length; i++) {
            if (!(t[i] instanceof Long v)) {
                throw error("tensor " + what + " holds " + describe(t[i]) + ", expected ints");
            }
            r[i] = v;
        }
        return r;
    }

    static String describe(Object o) {
        return describe(o, 0);
    }

    /** Depth-limited, since a hostile pickle can nest tuples deeply enough to overflow the Java stack. */
    private static String describe(Object o, int depth) {
        if (depth > 4) {
            return "...";
        }
        if (o == null) {
            return "None";
        }
        if (o instanceof Object[] t) {
            StringBuilder b = new StringBuilder("(");
            for (int i = 0; i < t.length && i < 8; i++) {
                b.append(i > 0 ? ", " : "").append(describe(t[i], depth + 1));
            }
            return b.append(t.length > 8 ? ", ...)" : ")").toString();
        }
        if (o instanceof Global g) {
            return g.qualified();
        }
        if (o instanceof String s) {
            return "'" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
        }
        if (o instanceof Long || o instanceof Double || o instanceof Boolean) {
            return o.toString();
        }
        return o.getClass().getSimpleName();
    }
}
