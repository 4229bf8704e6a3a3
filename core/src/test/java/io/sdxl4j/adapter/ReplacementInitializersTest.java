// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replacement initializers on the {@code ort} engine, and merged adapters through it against the
 * conformance references (the native module runs the same checks on {@code javacpp}).
 */
class ReplacementInitializersTest {

    private static Engine engine;

    @BeforeAll
    static void open() {
        engine = Engines.create(PipelineOptions.builder().engine("ort").build());
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    @Test
    void aReplacedWeightIsTheOneTheSessionComputesWith(@TempDir Path dir) {
        InitializerChecks.aReplacedWeightIsTheOneTheSessionComputesWith(engine, dir);
    }

    @Test
    void aGrownGatherTableServesTheNewIds(@TempDir Path dir) {
        InitializerChecks.aGrownGatherTableServesTheNewIds(engine, dir);
    }

    @Test
    void aFailedOpenFreesTheReplacements(@TempDir Path dir) {
        InitializerChecks.aFailedOpenFreesTheReplacements(engine, dir);
    }

    @Test
    void textualInversionReproducesTheTiTwoVectorsEmbeddings() {
        InitializerChecks.textualInversionReproducesTheCaseEmbeddings(engine);
    }

    @Test
    void theKohyaTextEncoderLoraReproducesTheCaseEmbeddings() {
        InitializerChecks.textEncoderLoraReproducesTheCaseEmbeddings(engine, "loras/tiny_te_locon_kohya.safetensors");
    }

    @Test
    void thePeftTextEncoderLoraReproducesTheSameEmbeddings() {
        InitializerChecks.textEncoderLoraReproducesTheCaseEmbeddings(engine, "loras/tiny_te_locon_peft.safetensors");
    }

    @Test
    void theKohyaUnetLoraReproducesTheCaseFirstStep() {
        InitializerChecks.unetLoraReproducesTheCaseFirstStep(engine, "lora_kohya_unet_08");
    }

    @Test
    void thePeftUnetLoraReproducesTheCaseFirstStep() {
        InitializerChecks.unetLoraReproducesTheCaseFirstStep(engine, "lora_peft_unet_08");
    }
}
