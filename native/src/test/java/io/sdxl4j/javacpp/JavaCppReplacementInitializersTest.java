// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.adapter.InitializerChecks;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Replacement initializers through the C++ API's {@code AddInitializer} on {@code javacpp} (and
 * its device-resident variant on the CPU), and merged adapters through it against the
 * conformance references: the same checks core runs on {@code ort}.
 */
class JavaCppReplacementInitializersTest {

    static List<String> engines() {
        return Engines.available().stream().filter(n -> n.startsWith("javacpp")).sorted().toList();
    }

    private static Engine engine(String name) {
        return Engines.create(PipelineOptions.builder().engine(name).build());
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aReplacedWeightIsTheOneTheSessionComputesWith(String name, @TempDir Path dir) {
        try (Engine e = engine(name)) {
            InitializerChecks.aReplacedWeightIsTheOneTheSessionComputesWith(e, dir);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aGrownGatherTableServesTheNewIds(String name, @TempDir Path dir) {
        try (Engine e = engine(name)) {
            InitializerChecks.aGrownGatherTableServesTheNewIds(e, dir);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aFailedOpenFreesTheReplacements(String name, @TempDir Path dir) {
        try (Engine e = engine(name)) {
            InitializerChecks.aFailedOpenFreesTheReplacements(e, dir);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void textualInversionReproducesTheTiTwoVectorsEmbeddings(String name) {
        try (Engine e = engine(name)) {
            InitializerChecks.textualInversionReproducesTheCaseEmbeddings(e);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void theTextEncoderLoraReproducesTheCaseEmbeddings(String name) {
        try (Engine e = engine(name)) {
            InitializerChecks.textEncoderLoraReproducesTheCaseEmbeddings(e, "loras/tiny_te_locon_kohya.safetensors");
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void theUnetLoraReproducesTheCaseFirstStep(String name) {
        try (Engine e = engine(name)) {
            InitializerChecks.unetLoraReproducesTheCaseFirstStep(e, "lora_kohya_unet_08");
        }
    }
}
