// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * The working-memory budget requests are admitted against, and memory sizes as people write them.
 * The default is taken from the machine when the model has loaded: three quarters of the memory
 * still available then — the kernel's {@code MemAvailable}, or less where a cgroup limit leaves
 * less — which covers both the native buffers ONNX Runtime allocates and the heap the JVM may
 * still grow into.
 */
final class MemoryBudget {

    /** The share of the available memory the default budget takes. */
    static final double DEFAULT_SHARE = 0.75;

    private MemoryBudget() {
    }

    /** The default budget now. */
    static long fromMachine() {
        long available = available().orElseGet(() -> {
            var os = ManagementFactory.getOperatingSystemMXBean();
            if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
                return sun.getFreeMemorySize();
            }
            return Runtime.getRuntime().maxMemory();
        });
        return (long) (available * DEFAULT_SHARE);
    }

    /** What the kernel says is available, bounded by the cgroup's limit, if readable. */
    static OptionalLong available() {
        OptionalLong meminfo = meminfo("MemAvailable:");
        OptionalLong cgroup = cgroupHeadroom();
        if (meminfo.isPresent() && cgroup.isPresent()) {
            return OptionalLong.of(Math.min(meminfo.getAsLong(), cgroup.getAsLong()));
        }
        return meminfo.isPresent() ? meminfo : cgroup;
    }

    private static OptionalLong meminfo(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith(key)) {
                    return OptionalLong.of(Long.parseLong(line.replaceAll("\\D+", "")) * 1024);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux: the JVM's figure stands in.
        }
        return OptionalLong.empty();
    }

    private static OptionalLong cgroupHeadroom() {
        try {
            Path max = Path.of("/sys/fs/cgroup/memory.max");
            Path current = Path.of("/sys/fs/cgroup/memory.current");
            if (!Files.isRegularFile(max) || !Files.isRegularFile(current)) {
                return OptionalLong.empty();
            }
            String limit = Files.readString(max).strip();
            if (limit.equals("max")) {
                return OptionalLong.empty();
            }
            return OptionalLong.of(Math.max(0, Long.parseLong(limit) - Long.parseLong(Files.readString(current).strip())));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * A size: bytes, or a number with {@code k}, {@code m}, {@code g} or {@code t} (powers of 1024,
     * an optional {@code b} or {@code ib} after it): {@code 8g}, {@code 512MiB}, {@code 1.5G}.
     *
     * @throws IllegalArgumentException for anything else
     */
    static long parse(String text) {
        String s = text.strip().toLowerCase(Locale.ROOT).replace("ib", "").replace("b", "");
        long unit = 1;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                case 't' -> unit = 1L << 40;
                default -> unit = 1;
            }
            if (unit > 1) {
                s = s.substring(0, s.length() - 1).strip();
            }
        }
        try {
            double v = Double.parseDouble(s);
            if (!(v > 0) || v * unit > Long.MAX_VALUE / 2.0) {
                throw new IllegalArgumentException("'" + text + "' is not a positive size");
            }
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a size (bytes, or a number with k, m, g, t)");
        }
    }

    /** Bytes for people: {@code 1.5 GiB}. */
    static String format(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
