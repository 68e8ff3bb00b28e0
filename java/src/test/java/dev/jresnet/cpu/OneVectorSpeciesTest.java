package dev.jresnet.cpu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * All Vector API code of the engine uses one species, {@code VectorTiles.S}. Measured during issue 12: a 256-bit
 * max-pool beside the 512-bit GEMM in one JVM made every convolution 10-20x slower (C2 stopped intrinsifying the
 * GEMM's vector calls). A source check, since the slowdown shows only in timings, which unit tests do not take.
 */
class OneVectorSpeciesTest {
    private static final Pattern SPECIES = Pattern.compile("\\bSPECIES_\\w+|\\bFloatVector\\.SPECIES\\w*|"
            + "VectorSpecies\\.of\\w*\\(");

    @Test
    void onlyVectorTilesNamesASpecies() throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("src/main/java/dev/jresnet"))) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".java"))::iterator) {
                Matcher m = SPECIES.matcher(Files.readString(f));
                while (m.find()) {
                    found.add(f.getFileName() + ": " + m.group());
                }
            }
        }
        assertEquals(List.of("VectorTiles.java: FloatVector.SPECIES_PREFERRED"), found,
                "every other class takes VectorTiles.S (or VectorGemm.S)");
    }
}
