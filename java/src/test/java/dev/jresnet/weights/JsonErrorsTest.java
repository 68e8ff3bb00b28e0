package dev.jresnet.weights;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Json} where a safetensors header written by another tool differs from ours: whitespace anywhere JSON allows
 * it, every escape, number syntax at its edges; and each error (a header cut anywhere) an IllegalArgumentException
 * saying what and at which character, never an index error.
 */
class JsonErrorsTest {
    private static void fails(String text, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(text), text);
        assertEquals(message, e.getMessage(), text);
    }

    @Test
    void whitespaceIsAllowedAroundEveryToken() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("dtype", "F32");
        inner.put("shape", List.of(2L, 3L));
        Map<String, Object> want = Map.of("w", inner, "e", Map.of(), "l", List.of());
        assertEquals(want, Json.parse(" \t\r\n{ \"w\" : { \"dtype\" :\t\"F32\" ,\n\"shape\" : [ 2 , 3 ] } ,"
                + " \"e\" : { } , \"l\" : [ ] } \n"));
    }

    @Test
    void escapesAndNumbers() {
        assertEquals("\"\\/\b\f\n\r\t\u00e9\u20ac", Json.parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\""));
        assertEquals(List.of(0L, -0L, 9L, -9L, 1e2, 1.5e-2, 2.5E+3, -0.5, 90L),
                Json.parse("[0,-0,9,-9,1e2,1.5e-2,2.5E+3,-0.5,90]"));
        assertEquals(List.of(true, false, "a b"), Json.parse("[true,false,\"a b\"]"));
        // numbers that end the text: their digits are read up to its last character
        assertEquals(1.25, Json.parse("1.25"));
        assertEquals(2e5, Json.parse("2e5"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
    }

    @Test
    void everyTruncationIsAnErrorAtItsCharacter() {
        fails("", "unexpected end of JSON at character 0");
        fails("{", "expected a string key at character 1");
        fails("{\"a\"", "expected ':' at character 4");
        fails("{\"a\":", "unexpected end of JSON at character 5");
        fails("{\"a\":1", "expected '}' at character 6");
        fails("{\"a\":1,", "expected a string key at character 7");
        fails("[", "unexpected end of JSON at character 1");
        fails("[1", "expected ']' at character 2");
        fails("\"ab", "unterminated string at character 3");
        fails("\"ab\\", "unterminated string at character 4");
        fails("\"\\u12", "short \\u escape at character 3");
        fails("\"\\u12\"", "short \\u escape at character 3");
        fails("\"\\u0041", "unterminated string at character 7");
        fails("\"\\u12x4\"", "bad \\u escape at character 6");
        fails("-", "bad number at character 1");
        fails("1.", "bad number at character 2");
        fails("1e", "bad number at character 2");
        fails("1e+", "bad number at character 3");
        fails("tru", "expected true at character 0");
        fails("nul", "expected null at character 0");
        fails("fals", "expected false at character 0");
        fails("\"\u001f\"", "control character in string at character 2");
        fails("9223372036854775808", "integer 9223372036854775808 out of range at character 0");
        fails("{\"a\":1,\"a\":2}", "duplicate key \"a\" at character 7");
        fails(":", "unexpected character ':' at character 0");
        fails("/", "unexpected character '/' at character 0");
        fails("[1] 2", "unexpected text after the JSON value at character 4");
    }

    @Test
    void digitsAreZeroToNineOnly() {
        assertEquals(List.of(0L, 9L), Json.parse("[0,9]"));
        fails("[/]", "unexpected character '/' at character 1");
        fails("[:]", "unexpected character ':' at character 1");
        fails("-/", "bad number at character 1");
        fails("-:", "bad number at character 1");
        fails("1./", "bad number at character 2");
        fails("1.:", "bad number at character 2");
    }

    @Test
    void nestingIsBoundedAtSixtyFourInObjectsAndArrays() {
        String arrays = "[".repeat(65) + "]".repeat(65);
        assertEquals(1, ((List<?>) Json.parse(arrays)).size());
        fails("[".repeat(66) + "]".repeat(66), "nesting deeper than 64 at character 65");
        // an object's values are one level below it: 64 objects around a number are 65 levels
        String objects = "{\"k\":".repeat(64) + "1" + "}".repeat(64);
        assertEquals(1, ((Map<?, ?>) Json.parse(objects)).size());
        fails("{\"k\":".repeat(65) + "1" + "}".repeat(65), "nesting deeper than 64 at character 325");
    }

    @Test
    void writerEscapesControlCharactersOnly() {
        List<Object> l = new ArrayList<>();
        l.add(" ~\u001f");
        l.add(null);
        l.add(true);
        l.add(7);
        l.add(-1.5);
        assertEquals("[\" ~\\u001f\",null,true,7,-1.5]", Json.write(l));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
    }
}
