package dev.jresnet.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;

/** Where and when a run happened: enough to tell whether two reports can be compared. */
record MachineInfo(String date, int cores, String cpuModel, String os, String java, long maxHeapBytes,
                   String loadAverage) {

    static MachineInfo current() {
        return new MachineInfo(OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString(),
                Runtime.getRuntime().availableProcessors(), readCpuModel(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                        + System.getProperty("os.arch"),
                System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")",
                Runtime.getRuntime().maxMemory(), readLoadAverage());
    }

    /** The first "model name" of /proc/cpuinfo (Linux); elsewhere the architecture. */
    static String readCpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    int colon = line.indexOf(':');
                    return line.substring(colon + 1).strip();
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux, or /proc unreadable: fall through
        }
        return "unknown (" + System.getProperty("os.arch") + ")";
    }

    /** The 1, 5 and 15 minute load averages from /proc/loadavg, "n/a" where there is none. */
    static String readLoadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
