package dev.jresnet.weights;

import dev.jresnet.tensor.DataType;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PickleReader} on pickles assembled opcode by opcode, without a zip around them: the value each opcode
 * pushes (signed or unsigned, little- or big-endian, as CPython's pickle.py reads it) and the message of each
 * refusal. The .pth fixtures that torch writes use few of these opcodes (no LONG1, BINFLOAT, BINUNICODE8, LIST,
 * APPENDS, POP_MARK, DUP...), so without this a misread one would pass every test until a file used it.
 */
class PickleValuesTest {
    private static final String WHERE = "w.pth: arch/data.pkl";

    /** The bytes of PROTO 2, {@code body} and STOP: the pickle of one value. */
    private static byte[] pickle(Object... body) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80);
        b.write(2);
        append(b, body);
        b.write('.');
        return b.toByteArray();
    }

    /** Opcodes and arguments: a char or int is one byte, a String its Latin-1 bytes, byte[] as is, Object[] flattened. */
    private static void append(ByteArrayOutputStream b, Object[] items) {
        for (Object o : items) {
            if (o instanceof byte[] raw) {
                b.writeBytes(raw);
            } else if (o instanceof Object[] nested) {
                append(b, nested);
            } else if (o instanceof String s) {
                b.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
            } else if (o instanceof Character c) {
                b.write(c);
            } else {
                b.write((Integer) o);
            }
        }
    }

    private static Object read(Object... body) throws WeightFormatException {
        return PickleReader.read(WHERE, pickle(body));
    }

    /** The refusal of {@code bytes}: a WeightFormatException whose message starts with WHERE and holds {@code what}. */
    private static String refusal(byte[] bytes, String what) {
        WeightFormatException e = assertThrows(WeightFormatException.class, () -> PickleReader.read(WHERE, bytes));
        assertTrue(e.getMessage().startsWith(WHERE + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(what), "\"" + what + "\" missing from: " + e.getMessage());
        return e.getMessage();
    }

    private static byte[] le(long v, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (v >> (8 * i));
        }
        return b;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void integerOpcodesReadSignedOrUnsignedAsPythonDoes() throws WeightFormatException {
        // BININT is a signed int32, BININT1 and BININT2 unsigned: 200 and 40000 are what torch writes for sizes
        assertEquals(-2L, read('J', le(-2, 4)));
        assertEquals(Integer.MIN_VALUE + 0L, read('J', le(Integer.MIN_VALUE, 4)));
        assertEquals(0x12345678L, read('J', le(0x12345678, 4)), "little-endian");
        assertEquals(200L, read('K', 200));
        assertEquals(40000L, read('M', le(40000, 2)));
        assertEquals(0x1234L, read('M', le(0x1234, 2)), "little-endian");
    }

    @Test
    void long1IsLittleEndianTwosComplementOfItsLength() throws WeightFormatException {
        assertEquals(0L, read(0x8a, 0));
        assertEquals(-1L, read(0x8a, 1, 0xff));
        assertEquals(127L, read(0x8a, 1, 0x7f));
        assertEquals(-32768L, read(0x8a, 2, 0x00, 0x80));
        assertEquals(32767L, read(0x8a, 2, 0xff, 0x7f));
        assertEquals(-8388608L, read(0x8a, 3, 0x00, 0x00, 0x80));
        assertEquals(1L << 32, read(0x8a, 5, 0, 0, 0, 0, 1));
        assertEquals(0x0102030405060708L, read(0x8a, 8, le(0x0102030405060708L, 8)));
        assertEquals(Long.MIN_VALUE, read(0x8a, 8, le(Long.MIN_VALUE, 8)));
        assertEquals(-1L, read(0x8a, 8, le(-1, 8)));
        refusal(pickle(0x8a, 9, new byte[9]), "LONG1 of 9 bytes does not fit in 64 bits (pickle opcode at byte 2)");
    }

    @Test
    void binfloatIsBigEndianAndWhatFollowsLittleEndianAgain() throws WeightFormatException {
        byte[] one = {0x3f, (byte) 0xf0, 0, 0, 0, 0, 0, 0};
        Object[] t = (Object[]) read('(', 'G', one, 'J', le(-3, 4), 0x8c, 1, 'a', 't');
        assertArrayEquals(new Object[] {1.0, -3L, "a"}, t);
    }

    @Test
    void stringsOfEveryWidthAreUtf8() throws WeightFormatException {
        byte[] s = utf8("conv1.wéight");
        assertEquals("conv1.wéight", read(0x8c, s.length, s));
        assertEquals("conv1.wéight", read('X', le(s.length, 4), s));
        assertEquals("conv1.wéight", read(0x8d, le(s.length, 8), s));
        assertEquals("", read(0x8c, 0));
        refusal(pickle('X', le(100, 4), s), "string of 100 bytes but only " + (s.length + 1) + " remain");
        refusal(pickle(0x8d, le(-1, 8)), "string of -1 bytes");
        // a string that takes every remaining byte is read, and then the STOP is missing
        byte[] cut = Arrays.copyOf(pickle(0x8c, 2, 'a', 'b'), 6);
        refusal(cut, "pickle ends early (truncated after 6 bytes)");
    }

    @Test
    void memoIndicesOfEveryWidth() throws WeightFormatException {
        // BINPUT/BINGET take one unsigned byte, LONG_BINPUT/LONG_BINGET four (a state_dict of > 256 tensors needs them)
        Object[] t = (Object[]) read('(', 0x8c, 1, 'a', 'q', 200, '0', 0x8c, 1, 'b', 'r', le(300, 4), '0',
                0x8c, 1, 'c', 'r', le(0x01020304, 4), '0', 'h', 200, 'j', le(300, 4), 'j', le(0x01020304, 4), 't');
        assertArrayEquals(new Object[] {"a", "b", "c"}, t);
        // MEMOIZE stores at the memo's size: 0, then 1
        t = (Object[]) read('(', 0x8c, 1, 'x', 0x94, '0', 0x8c, 1, 'y', 0x94, '0', 'h', 1, 'h', 0, 't');
        assertArrayEquals(new Object[] {"y", "x"}, t);
        refusal(pickle('h', 7), "memo index 7 was never stored");
        refusal(pickle('q', 0), "stack underflow");
    }

    @Test
    void tuplesListsAndDictsKeepTheirOrder() throws WeightFormatException {
        assertArrayEquals(new Object[0], (Object[]) read(')'));
        assertArrayEquals(new Object[] {1L}, (Object[]) read('K', 1, 0x85));
        assertArrayEquals(new Object[] {1L, 2L}, (Object[]) read('K', 1, 'K', 2, 0x86));
        assertArrayEquals(new Object[] {1L, 2L, 3L}, (Object[]) read('K', 1, 'K', 2, 'K', 3, 0x87));
        assertArrayEquals(new Object[] {true, false, null}, (Object[]) read('(', 0x88, 0x89, 'N', 't'));

        assertEquals(List.of(1L, 2L, 3L, 4L), read(']', 'K', 1, 'a', '(', 'K', 2, 'K', 3, 'e', 'K', 4, 'a'));
        assertEquals(List.of(5L, 6L), read('(', 'K', 5, 'K', 6, 'l'));

        Map<Object, Object> want = new LinkedHashMap<>();
        want.put("b", 1L);
        want.put("a", 2L);
        want.put("c", 3L);
        assertEquals(want, read('}', 0x8c, 1, 'b', 'K', 1, 's', '(', 0x8c, 1, 'a', 'K', 2, 0x8c, 1, 'c', 'K', 3, 'u'));
        assertEquals(List.of("b", "a", "c"), new ArrayList<>(((Map<?, ?>) read('(', 0x8c, 1, 'b', 'K', 1, 0x8c, 1,
                'a', 'K', 2, 0x8c, 1, 'c', 'K', 3, 'd')).keySet()));
        refusal(pickle('(', 'K', 1, 'd'), "odd number of dict items: 1");
    }

    @Test
    void stackOpcodes() throws WeightFormatException {
        assertArrayEquals(new Object[] {1L, 1L}, (Object[]) read('K', 1, '2', 0x86)); // DUP
        assertEquals(2L, read('K', 1, '0', 'K', 2)); // POP
        assertEquals(3L, read('K', 3, '(', 'K', 1, 'K', 2, '1')); // POP_MARK
        // a MARK at the very bottom of the stack is found; no MARK at all is an error, not the bottom value
        assertArrayEquals(new Object[] {1L}, (Object[]) PickleReader.read(WHERE, new byte[] {'(', 'K', 1, 't', '.'}));
        refusal(pickle('K', 1, 'K', 2, 't'), "no MARK on the stack");
        refusal(pickle('0'), "stack underflow");
        refusal(pickle('(', '0'), "unexpected MARK");
        refusal(pickle('(', 'K', 1, 'a'), "stack underflow");
        refusal(pickle('K', 1, 'K', 2), "STOP with 2 values on the stack, expected 1");
    }

    @Test
    void protocolsUpToFiveAreRead() throws WeightFormatException {
        assertEquals(7L, PickleReader.read(WHERE, new byte[] {(byte) 0x80, 5, 'K', 7, '.'}));
        refusal(new byte[] {(byte) 0x80, 6, 'K', 7, '.'}, "unsupported pickle protocol 6 (pickle opcode at byte 0)");
        // FRAME's 8-byte length is skipped, not read as opcodes
        assertEquals(7L, PickleReader.read(WHERE, new byte[] {(byte) 0x80, 4, (byte) 0x95, 3, 0, 0, 0, 0, 0, 0, 0,
                'K', 7, '.'}));
        refusal(pickle(0xff), "unsupported pickle opcode 0xff (pickle opcode at byte 2)");
    }

    @Test
    void dictKeysMustBeHashableAsInPython() throws WeightFormatException {
        // a tuple of every hashable kind (and a tuple of them) is a legal key
        Object[] key = {null, "s", 1L, 1.5, true, new Object[] {2L}};
        Map<?, ?> d = (Map<?, ?>) read('}', '(', 'N', 0x8c, 1, 's', 'K', 1, 'G',
                new byte[] {0x3f, (byte) 0xf8, 0, 0, 0, 0, 0, 0}, 0x88, 'K', 2, 0x85, 't', 'K', 9, 's');
        Object k = d.keySet().iterator().next();
        assertEquals(Arrays.deepToString(key), Arrays.deepToString((Object[]) k));
        assertEquals(9L, d.get(k));
        for (Object kind : new Object[] {']', '}'}) {
            refusal(pickle('}', kind, 0x85, 'K', 1, 's'), "a dict key is a tuple holding a list, dict or object");
        }
        refusal(pickle('}', '(', 'K', 1, ']', 't', 0x85, 'K', 1, 's'), "a tuple holding a list, dict or object");
        refusal(pickle('}', ']', 'K', 1, 's'), "a dict key is a list, which Python cannot hash");
        for (int kind : new int[] {'N', 0x88}) {
            assertEquals(1, ((Map<?, ?>) read('}', kind, 'K', 1, 's')).size());
        }
    }

    @Test
    void globalsOtherThanAStateDictsAreRefusedByName() throws WeightFormatException {
        String shown = refusal(pickle('c', "os\nsystem\n"), "refusing pickle global os.system: a state_dict only needs");
        assertFalse(shown.contains("..."), shown);
        String eighty = "m." + "x".repeat(78);
        shown = refusal(pickle('c', "m\n" + "x".repeat(78) + "\n"), "refusing pickle global " + eighty + ":");
        assertFalse(shown.contains(eighty + "..."), shown);
        refusal(pickle('c', "m\n" + "x".repeat(79) + "\n"), "refusing pickle global " + eighty + "...:");
        // STACK_GLOBAL (protocol 4) takes module and name from the stack
        assertEquals(Map.of(), read(0x8c, 11, "collections", 0x8c, 11, "OrderedDict", 0x93, ')', 'R'));
        refusal(pickle(0x8c, 2, "os", 0x8c, 6, "system", 0x93), "refusing pickle global os.system");
        refusal(pickle(0x8c, 1, 'm', 'K', 1, 0x93), "STACK_GLOBAL needs two strings");
        refusal(pickle('c', "torch\nFloatStorag"), "GLOBAL name without end of line");
    }

    private static Object[] storagePid(String type, Object key, Object numel) {
        return new Object[] {'(', 0x8c, 7, "storage", 'c', "torch\n" + type + "\n", key, 0x8c, 3, "cpu", numel, 't', 'Q'};
    }

    private static Object[] concat(Object[]... parts) {
        List<Object> all = new ArrayList<>();
        for (Object[] p : parts) {
            all.addAll(Arrays.asList(p));
        }
        return all.toArray();
    }

    @Test
    void persistentIdsNameATorchStorage() throws WeightFormatException {
        assertEquals(new PickleReader.StorageRef("0", DataType.F16, 0),
                read(concat(storagePid("HalfStorage", new byte[] {(byte) 0x8c, 1, '0'}, new byte[] {'K', 0}))));
        assertEquals(new PickleReader.StorageRef("0", DataType.U8, 40000),
                read(concat(storagePid("ByteStorage", new byte[] {(byte) 0x8c, 1, '0'}, new Object[] {'M', le(40000, 2)}))));
        refusal(pickle(concat(storagePid("FloatStorage", new byte[] {(byte) 0x8c, 1, '0'}, new byte[] {'J', -1, -1, -1, -1}))),
                "persistent id has key '0' and numel -1");
        refusal(pickle(concat(storagePid("FloatStorage", new byte[] {'K', 0}, new byte[] {'K', 1}))),
                "persistent id has key 0 and numel 1");
        refusal(pickle('(', 0x8c, 1, 'x', 't', 'Q'), "persistent id ('x') is not ('storage', type, key, location, numel)");
        refusal(pickle('(', 0x8c, 7, "storage", 'N', 'N', 'N', 'N', 't', 'Q'), "persistent id names storage type None");
        refusal(pickle('(', 0x8c, 7, "storage", 'c', "collections\nOrderedDict\n", 'N', 'N', 'N', 't', 'Q'),
                "persistent id names storage type collections.OrderedDict");
    }

    /** _rebuild_tensor_v2((storage '0' F32 x 6), offset 1, size (2, 2), stride (1, 2), False, OrderedDict()[, extra]). */
    private static Object[] rebuild(int extraArgs) {
        List<Object> ops = new ArrayList<>(Arrays.asList('c', "torch._utils\n_rebuild_tensor_v2\n", '('));
        ops.addAll(Arrays.asList(storagePid("FloatStorage", new byte[] {(byte) 0x8c, 1, '0'}, new byte[] {'K', 6})));
        ops.addAll(List.of('K', 1, 'K', 2, 'K', 2, 0x86, 'K', 1, 'K', 2, 0x86, 0x89, 'N'));
        for (int i = 0; i < extraArgs; i++) {
            ops.add('N');
        }
        ops.addAll(List.of('t', 'R'));
        return ops.toArray();
    }

    @Test
    void rebuildTensorTakesSixOrSevenArguments() throws WeightFormatException {
        for (int extra = 0; extra <= 1; extra++) {
            PickleReader.TensorRef t = assertInstanceOf(PickleReader.TensorRef.class, read(rebuild(extra)));
            assertEquals(new PickleReader.StorageRef("0", DataType.F32, 6), t.storage());
            assertEquals(1L, t.offset());
            assertArrayEquals(new long[] {2, 2}, t.size());
            assertArrayEquals(new long[] {1, 2}, t.stride());
        }
        refusal(pickle(rebuild(2)), "_rebuild_tensor_v2 arguments (StorageRef, 1, (2, 2), (1, 2), false, None, None, None),"
                + " expected");
        refusal(pickle('c', "torch._utils\n_rebuild_tensor_v2\n", '(', 'N', 'N', 'N', 'N', 'N', 't', 'R'),
                "_rebuild_tensor_v2 arguments (None, None, None, None, None), expected (storage, offset, size, stride,");
    }

    @Test
    void rebuildParameterUnwrapsItsTensor() throws WeightFormatException {
        Object[] tensor = rebuild(0);
        for (String fn : new String[] {"_rebuild_parameter", "_rebuild_parameter_with_state"}) {
            Object[] ops = concat(new Object[] {'c', "torch._utils\n" + fn + "\n", '('}, tensor,
                    new Object[] {0x89, 'N', 't', 'R'});
            PickleReader.TensorRef t = assertInstanceOf(PickleReader.TensorRef.class, read(ops));
            assertArrayEquals(new long[] {2, 2}, t.size());
            refusal(pickle(concat(new Object[] {'c', "torch._utils\n" + fn + "\n", '('}, tensor,
                    new Object[] {0x89, 't', 'R'})), fn + " arguments (");
            refusal(pickle('c', "torch._utils\n" + fn + "\n", '(', 'K', 1, 'K', 2, 'K', 3, 't', 'R'),
                    fn + " arguments (1, 2, 3), expected (tensor, requires_grad, hooks...)");
        }
        refusal(pickle('c', "collections\nOrderedDict\n", 'K', 1, 0x85, 'R'),
                "OrderedDict called with 1 arguments, expected none");
        refusal(pickle('K', 1, ')', 'R'), "REDUCE calls 1, not a global");
        refusal(pickle('c', "collections\nOrderedDict\n", ']', 'R'),
                "REDUCE of collections.OrderedDict with arguments ArrayList, not a tuple");
        refusal(pickle('c', "torch\nFloatStorage\n", ')', 'R'), "refusing to call torch.FloatStorage");
    }

    @Test
    void buildIsToleratedOnADictOnly() throws WeightFormatException {
        assertEquals(Map.of(), read('}', '}', 'b'));
        refusal(pickle(']', '}', 'b'), "BUILD on ArrayList; only a dict's state is tolerated");
        refusal(pickle(']', 'K', 1, 'K', 2, 's'), "SETITEM(S) on ArrayList, expected a dict");
        refusal(pickle('}', 'K', 1, 'a'), "APPEND(S) on LinkedHashMap, expected a list");
    }

    @Test
    void describeIsShortAndDepthLimited() {
        assertEquals("None", PickleReader.describe(null));
        assertEquals("3", PickleReader.describe(3L));
        assertEquals("2.5", PickleReader.describe(2.5));
        assertEquals("true", PickleReader.describe(true));
        assertEquals("'" + "x".repeat(40) + "'", PickleReader.describe("x".repeat(40)));
        assertEquals("'" + "x".repeat(40) + "...'", PickleReader.describe("x".repeat(41)));
        assertEquals("()", PickleReader.describe(new Object[0]));
        assertEquals("(1, 2, 3, 4, 5, 6, 7, 8)", PickleReader.describe(new Object[] {1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L}));
        assertEquals("(1, 2, 3, 4, 5, 6, 7, 8, ...)",
                PickleReader.describe(new Object[] {1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L}));
        Object deep = 1L;
        for (int i = 0; i < 4; i++) {
            deep = new Object[] {deep};
        }
        assertEquals("((((1))))", PickleReader.describe(deep));
        assertEquals("(((((...)))))", PickleReader.describe(new Object[] {deep}));
        assertEquals("ArrayList", PickleReader.describe(new ArrayList<>()));
    }
}
