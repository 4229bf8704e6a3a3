// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.conformance.CaseResult;
import io.sdxl4j.conformance.ConformanceCase;
import io.sdxl4j.conformance.ConformanceRunner;
import io.sdxl4j.conformance.ConformanceSuite;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sdxl4j conformance --cases DIR [--engine NAME]}: runs every case of a conformance folder
 * and prints one {@code PASS|FAIL|SKIP id …} line per case, then {@code N passed, M failed, K skipped};
 * exits 1 when any case failed. Other checks parse this output: keep it stable.
 */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = "Run diffusers reference cases and compare the images.")
final class ConformanceCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--cases", required = true, paramLabel = "DIR",
            description = "Folder with cases.json (model paths are relative to it).")
    Path cases;

    @Mixin
    EngineOptions engine;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ConformanceSuite suite = ConformanceSuite.load(cases);
        int passed = 0;
        int failed = 0;
        int skipped = 0;
        try (ConformanceRunner runner = new ConformanceRunner(engine.toOptions())) {
            for (ConformanceCase c : suite.cases()) {
                CaseResult r = runner.run(c);
                out.println(r.line());
                out.flush();
                switch (r.status()) {
                    case PASS -> passed++;
                    case FAIL -> failed++;
                    case SKIP -> skipped++;
                }
            }
        }
        out.println(passed + " passed, " + failed + " failed, " + skipped + " skipped");
        return failed > 0 ? 1 : 0;
    }
}
