// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sdxl4j.PipelineOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every diffusers reference case that sdxl4j implements must match within the case's tolerance, on
 * every engine on the class path ({@code ort} here; the native module runs this suite for its own
 * engines, naming them in {@code sdxl4j.test.engines}); the others are reported as skipped
 * (assumption failures) with their reason, never passed. {@code sdxl4j.test.fusedAttention} runs
 * them on the fused attention graphs instead ({@code true}) or as well ({@code both}): each case
 * once per engine and configuration.
 */
class ConformanceTest {

    private static final ConformanceSuite SUITE = ConformanceSuite.load(conformanceDir());
    private static final Map<String, ConformanceRunner> RUNNERS = new TreeMap<>();

    static Path conformanceDir() {
        Path dir = Path.of(System.getProperty("sdxl4j.conformance.dir", "conformance"));
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException("conformance data not found at " + dir + " (run through Maven)");
        }
        return dir;
    }

    /** The engines under test: {@code sdxl4j.test.engines} (comma-separated), else every engine on the class path. */
    static List<String> engines() {
        String named = System.getProperty("sdxl4j.test.engines", "");
        return named.isBlank() ? PipelineOptions.availableEngines().stream().sorted().toList()
                : Arrays.stream(named.split(",")).map(String::strip).toList();
    }

    /** The graph configurations under test: unfused, fused ({@code sdxl4j.test.fusedAttention=true}) or both. */
    static List<Boolean> fusedConfigurations() {
        return switch (System.getProperty("sdxl4j.test.fusedAttention", "false").strip()) {
            case "true" -> List.of(true);
            case "both" -> List.of(false, true);
            default -> List.of(false);
        };
    }

    static Stream<Arguments> cases() {
        return engines().stream().flatMap(engine -> fusedConfigurations().stream().flatMap(fused -> SUITE.cases()
                .stream().map(c -> Arguments.of(fused ? engine + "+fused-attention" : engine, c.id(), c))));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    void matchesDiffusers(String configuration, String id, ConformanceCase c) {
        var unsupported = ConformanceRunner.unsupported(c);
        assumeTrue(unsupported.isEmpty(), () -> unsupported.orElse(""));
        CaseResult r = RUNNERS.computeIfAbsent(configuration, e -> new ConformanceRunner(PipelineOptions.builder()
                .engine(e.replace("+fused-attention", "")).fusedAttention(e.endsWith("+fused-attention")).build())).run(c);
        assertEquals(CaseResult.Status.PASS, r.status(), r.line());
    }

    @Test
    void everyCaseRuns() {
        for (ConformanceCase c : SUITE.cases()) {
            assertEquals(java.util.Optional.empty(), ConformanceRunner.unsupported(c), c.id());
        }
        assertTrue(SUITE.cases().stream().anyMatch(c -> !c.json().path("loras").isEmpty()), "LoRA cases are in");
        assertTrue(SUITE.cases().stream().anyMatch(c -> !c.json().path("embeddings").isEmpty()), "embedding cases too");
    }

    @AfterAll
    static void close() {
        RUNNERS.values().forEach(ConformanceRunner::close);
    }
}
