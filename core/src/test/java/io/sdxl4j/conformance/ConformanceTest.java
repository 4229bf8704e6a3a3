// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.TestData;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every diffusers reference case that sdxl4j implements must match within the case's tolerance;
 * the others are reported as skipped (assumption failures), never passed.
 */
class ConformanceTest {

    private static final ConformanceSuite SUITE = ConformanceSuite.load(TestData.conformance());
    private static final ConformanceRunner RUNNER = new ConformanceRunner(PipelineOptions.defaults());

    static Stream<Arguments> cases() {
        return SUITE.cases().stream().map(c -> Arguments.of(c.id(), c));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesDiffusers(String id, ConformanceCase c) {
        var unsupported = ConformanceRunner.unsupported(c);
        assumeTrue(unsupported.isEmpty(), () -> unsupported.orElse(""));
        CaseResult r = RUNNER.run(c);
        assertEquals(CaseResult.Status.PASS, r.status(), r.line());
    }

    @AfterAll
    static void close() {
        RUNNER.close();
    }
}
