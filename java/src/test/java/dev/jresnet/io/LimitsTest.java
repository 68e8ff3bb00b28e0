package dev.jresnet.io;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.*;

/** The bounds: documented as the README says, overridable per run, never disabled by a bad override. */
class LimitsTest {
    static Path readme() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("README.md")) && Files.isDirectory(p.resolve("java"))) {
                return p.resolve("README.md");
            }
        }
        throw new IllegalStateException("no README.md above " + Path.of("").toAbsolutePath());
    }

    @Test
    void everyLimitHasAReadmeRowWithItsPropertyAndDefault() throws IOException {
        String table = Files.readString(readme());
        for (Limits l : Limits.values()) {
            String row = table.lines().filter(line -> line.contains("`" + l.property() + "`")).findFirst()
                    .orElseThrow(() -> new AssertionError("README's limits table has no row for " + l.property()));
            assertTrue(row.contains(String.format(Locale.ROOT, "| %,d |", l.defaultValue())),
                    l + ": README row must give the default " + l.defaultValue() + ": " + row);
        }
    }

    @Test
    void aPropertyOverridesForOneRunAndABadOneIsRefused() {
        Limits l = Limits.CLASSES;
        String old = System.getProperty(l.property());
        try {
            System.setProperty(l.property(), "12");
            assertEquals(12, l.value());
            assertTrue(l.allows(12));
            assertFalse(l.allows(13));
            assertFalse(l.allows(-1));
            String msg = l.exceeded("fc.weight rows", 13);
            assertTrue(msg.contains("13 exceeds the limit of 12") && msg.contains("-Djresnet.limit.classes=N"), msg);
            System.setProperty(l.property(), "0");
            assertThrows(IllegalArgumentException.class, l::value, "0 would disable the bound");
            System.setProperty(l.property(), "lots");
            assertThrows(IllegalArgumentException.class, l::value);
            System.clearProperty(l.property());
            assertEquals(l.defaultValue(), l.value());
        } finally {
            if (old == null) {
                System.clearProperty(l.property());
            } else {
                System.setProperty(l.property(), old);
            }
        }
    }
}
