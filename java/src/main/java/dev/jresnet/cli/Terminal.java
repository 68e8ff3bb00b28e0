package dev.jresnet.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * Text that reaches the terminal and came from a file (class names in a weights file, file names, reasons quoting
 * them) is printed with its control characters shown, never obeyed: an ESC sequence in a label must not clear the
 * screen or rewrite earlier lines, a newline in a file name must not forge an output line. JSON output escapes the
 * same characters (as backslash-u001b), so it stays one valid document that is also safe to print.
 */
final class Terminal {
    private Terminal() {}

    /** Whether {@code c} acts on a terminal or reorders text: C0, DEL, C1, line/paragraph separators, bidi controls. */
    static boolean isControl(int c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e)
                || (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f || c == 0x061c;
    }

    /** {@code s} with each control character written as backslash-xNN or backslash-uNNNN (tab included); null as "null". */
    static String safe(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (isControl(c)) {
                if (sb == null) {
                    sb = new StringBuilder(s.length() + 8).append(s, 0, i);
                }
                sb.append(c <= 0xff ? String.format("\\x%02x", (int) c) : String.format("\\u%04x", (int) c));
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }

    /** An ObjectMapper (indented) whose output escapes every character {@link #isControl} names. */
    static ObjectMapper jsonMapper() {
        JsonFactory factory = new JsonFactory();
        factory.setCharacterEscapes(new ControlEscapes());
        return new ObjectMapper(factory).enable(SerializationFeature.INDENT_OUTPUT);
    }

    /** Jackson escapes C0 by default; this adds DEL, C1 and the Unicode controls as backslash-u escapes. */
    private static final class ControlEscapes extends CharacterEscapes {
        private static final long serialVersionUID = 1L;
        private final int[] table = standardAsciiEscapesForJSON();

        ControlEscapes() {
            table[0x7f] = ESCAPE_STANDARD;
        }

        @Override
        public int[] getEscapeCodesForAscii() {
            return table;
        }

        /** Asked for each non-ASCII character: C1 and the Unicode controls as backslash-u escapes, the rest as is. */
        @Override
        public SerializableString getEscapeSequence(int ch) {
            return isControl(ch) ? new SerializedString(String.format("\\u%04x", ch)) : null;
        }
    }
}
