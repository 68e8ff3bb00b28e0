package example;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The README's Java and Maven blocks are this project's sources: every ```java block is one example file (its
 * imports, a blank line, then the lines between its README markers, indentation aside), every example is quoted
 * exactly once, and every ```xml block is a piece of this pom.xml. Editing one side alone fails here.
 */
class ReadmeExamplesTest {
    static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent(); // surefire runs in examples/
    static final String BEGIN = "// ---- README begin ----", END = "// ---- README end ----";

    /** The ```LANG blocks of the README, in order. */
    static List<String> blocks(String readme, String lang) {
        List<String> out = new ArrayList<>();
        List<String> lines = readme.lines().collect(Collectors.toList());
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().equals("```" + lang)) {
                int j = i + 1;
                while (j < lines.size() && !lines.get(j).strip().equals("```")) {
                    j++;
                }
                out.add(normalise(lines.subList(i + 1, j)));
                i = j;
            }
        }
        return out;
    }

    /** Lines with trailing blanks removed and the common indentation taken off. */
    static String normalise(List<String> lines) {
        int indent = Integer.MAX_VALUE;
        for (String l : lines) {
            if (!l.isBlank()) {
                indent = Math.min(indent, l.length() - l.stripLeading().length());
            }
        }
        int cut = indent == Integer.MAX_VALUE ? 0 : indent;
        return lines.stream().map(l -> l.isBlank() ? "" : l.substring(cut).stripTrailing())
                .collect(Collectors.joining("\n"));
    }

    /** What the README must show of an example: its imports, a blank line, the lines between the markers. */
    static String quoted(Path example) throws IOException {
        List<String> lines = Files.readAllLines(example);
        int first = -1, last = -1, begin = -1, end = -1;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.startsWith("import ")) {
                first = first < 0 ? i : first;
                last = i;
            } else if (l.equals(BEGIN)) {
                begin = i;
            } else if (l.equals(END)) {
                end = i;
            }
        }
        assertTrue(first >= 0 && begin > last && end > begin, example + ": imports, then " + BEGIN + " ... " + END);
        return normalise(lines.subList(first, last + 1)) + "\n\n" + normalise(lines.subList(begin + 1, end));
    }

    static Map<String, String> examples() throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(ROOT.resolve("examples/src/main/java/example"))) {
            for (Path f : files.sorted().collect(Collectors.toList())) {
                out.put(f.getFileName().toString(), quoted(f));
            }
        }
        return out;
    }

    @Test
    void everyJavaBlockOfTheReadmeIsOneExampleAndEveryExampleIsQuotedOnce() throws IOException {
        List<String> readme = blocks(Files.readString(ROOT.resolve("README.md")), "java");
        Map<String, String> examples = examples();
        assertFalse(examples.isEmpty());
        for (String block : readme) {
            List<String> matches = examples.entrySet().stream().filter(e -> e.getValue().equals(block))
                    .map(Map.Entry::getKey).collect(Collectors.toList());
            assertEquals(1, matches.size(), "README.md has a ```java block that is no example of examples/src/main/"
                    + "java/example (or more than one); it must be one's imports, a blank line and the lines between "
                    + "its README markers. The block:\n" + block);
        }
        for (Map.Entry<String, String> e : examples.entrySet()) {
            long quotes = readme.stream().filter(e.getValue()::equals).count();
            assertEquals(1, quotes, e.getKey() + " is quoted " + quotes + " times in README.md; expected once, as:\n"
                    + e.getValue());
        }
    }

    @Test
    void everyXmlBlockOfTheReadmeIsPartOfThisPom() throws IOException {
        List<String> pom = Files.readAllLines(ROOT.resolve("examples/pom.xml")).stream().map(String::strip)
                .collect(Collectors.toList());
        List<String> xml = blocks(Files.readString(ROOT.resolve("README.md")), "xml");
        assertFalse(xml.isEmpty(), "README.md shows the surefire and exec settings as ```xml blocks");
        for (String block : xml) {
            List<String> lines = block.lines().map(String::strip).collect(Collectors.toList());
            assertTrue(java.util.Collections.indexOfSubList(pom, lines) >= 0,
                    "README.md's ```xml block is not a piece of examples/pom.xml:\n" + block);
        }
    }

    @Test
    void theSurefireArgLineOfThisPomBringsTheVectorModule() {
        assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                "the argLine the README shows must give the tests the Vector API module");
    }
}
