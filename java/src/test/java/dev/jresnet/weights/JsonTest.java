package dev.jresnet.weights;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonTest {
    @Test
    void parsesWhatSafetensorsHeadersHold() {
        Object v = Json.parse("{\"b\": [1, -2, 3.5e0], \"a\": {\"s\": \"x\\u00e9\\n\\\"\"}, \"t\": true, \"n\": null}   ");
        Map<String, Object> want = new LinkedHashMap<>();
        want.put("b", List.of(1L, -2L, 3.5));
        want.put("a", Map.of("s", "xé\n\""));
        want.put("t", true);
        want.put("n", null);
        assertEquals(want, v);
        assertEquals(List.of("b", "a", "t", "n"), List.copyOf(((Map<?, ?>) v).keySet()));
    }

    @Test
    void rejectsWhatIsNotStrictJson() {
        for (String bad : new String[] {"", "{", "{\"a\":1,}", "[1,]", "{'a':1}", "01", "1.", "-", "\"\t\"", "tru",
                "{\"a\" 1}", "1 2", "\"\\x\"", "99999999999999999999", "{\"a\":1,\"a\":2}", "[".repeat(100) + "]".repeat(100)}) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> Json.parse(new byte[] {'"', (byte) 0xc3, '"'}));
    }

    @Test
    void boundsTheValuesOfOneDocument() {
        // [{},{},...]: 3 bytes of header per map; unbounded, a 100 MB header would become gigabytes of maps
        String many = "[" + "{},".repeat(Json.MAX_VALUES) + "{}]";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(many));
        assertEquals("more than " + Json.MAX_VALUES + " values at character " + (3 * Json.MAX_VALUES - 2),
                e.getMessage());
        assertEquals(Json.MAX_VALUES - 1, ((List<?>) Json.parse("[" + "{},".repeat(Json.MAX_VALUES - 2) + "{}]")).size());
    }

    @Test
    void writesWhatItReads() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("k\"\\\u0001", List.of(1L, 2L));
        m.put("é", "v");
        String s = Json.write(m);
        assertEquals("{\"k\\\"\\\\\\u0001\":[1,2],\"é\":\"v\"}", s);
        assertEquals(m, Json.parse(s.getBytes(StandardCharsets.UTF_8)));
    }
}
