// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.ModelInfo.Kind;
import io.sdxl4j.SdxlException;
import io.sdxl4j.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFolderTest {

    @Test
    void readsTheTinyExport() {
        ModelFolder m = ModelFolder.open(TestData.tinyModel());
        assertEquals(Kind.BASE, m.kind());
        assertEquals(0.13025, m.vae().scalingFactor());
        assertEquals(2, m.vae().scaleFactor(), "2^(len(block_out_channels) - 1) for the two-block VAE");
        assertEquals(64, m.defaultImageSize());
        assertTrue(m.forceZerosForEmptyPrompt());
        assertEquals("EulerDiscreteScheduler", m.schedulerConfig().className().orElseThrow());
    }

    @Test
    void aComponentMayBeALinkOrTheTextFileGitWritesInPlaceOfOne() {
        // sdxl-tiny-inpaint shares every component but its UNet with sdxl-tiny through links.
        ModelFolder m = ModelFolder.open(TestData.conformance().resolve("models/sdxl-tiny-inpaint"));
        assertTrue(Files.isRegularFile(m.onnx(Component.TEXT_ENCODER)), m.onnx(Component.TEXT_ENCODER).toString());
        assertTrue(m.onnx(Component.UNET).toString().contains("sdxl-tiny-inpaint"));
    }

    @Test
    void aLinkPlaceholderFileNamingAFolderIsFollowed(@TempDir Path dir) throws IOException {
        Path tiny = ModelCopies.tinyModel(dir.resolve("base"));
        Path variant = Files.createDirectories(dir.resolve("variant"));
        Files.copy(tiny.resolve("model_index.json"), variant.resolve("model_index.json"));
        for (String part : new String[] {"text_encoder", "text_encoder_2", "unet", "vae_decoder", "vae_encoder",
            "tokenizer", "tokenizer_2", "scheduler"}) {
            Files.writeString(variant.resolve(part), "../" + dir.relativize(tiny) + "/" + part);
        }
        ModelFolder m = ModelFolder.open(variant);
        assertEquals(tiny.resolve("unet/model.onnx").toAbsolutePath().normalize(), m.onnx(Component.UNET));
        assertEquals(tiny.resolve("tokenizer_2").toAbsolutePath().normalize(), m.tokenizer(2));
    }

    @Test
    void aMissingFolderIsNamed(@TempDir Path dir) {
        SdxlException e = assertThrows(SdxlException.class, () -> ModelFolder.open(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void aFolderWithoutModelIndexIsNotAnSdxlExport(@TempDir Path dir) {
        SdxlException e = assertThrows(SdxlException.class, () -> ModelFolder.open(dir));
        assertTrue(e.getMessage().contains("model_index.json"), e.getMessage());
    }

    @Test
    void anotherDiffusersPipelineIsRejected(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\"}");
        SdxlException e = assertThrows(SdxlException.class, () -> ModelFolder.open(dir));
        assertTrue(e.getMessage().contains("StableDiffusionPipeline"), e.getMessage());
    }

    @Test
    void missingComponentsAreListed(@TempDir Path dir) throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        Files.delete(m.resolve("unet/model.onnx"));
        Files.delete(m.resolve("tokenizer/merges.txt"));
        SdxlException e = assertThrows(SdxlException.class, () -> ModelFolder.open(m));
        assertTrue(e.getMessage().contains("unet/model.onnx") && e.getMessage().contains("tokenizer/merges.txt"),
                e.getMessage());
    }

    @Test
    void aFolderWithoutTheFirstTextEncoderIsARefiner(@TempDir Path dir) throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        Files.writeString(m.resolve("model_index.json"), "{\"_class_name\": \"ORTStableDiffusionXLImg2ImgPipeline\","
                + " \"text_encoder\": [null, null], \"requires_aesthetics_score\": true,"
                + " \"force_zeros_for_empty_prompt\": false}");
        ModelFolder folder = ModelFolder.open(m);
        assertEquals(Kind.REFINER, folder.kind());
        assertTrue(folder.requiresAestheticsScore());
        assertFalse(folder.forceZerosForEmptyPrompt());
    }

    @Test
    void aBrokenVaeConfigIsNamed(@TempDir Path dir) throws IOException {
        Path m = ModelCopies.tinyModel(dir);
        Files.writeString(m.resolve("vae_decoder/config.json"), "{ scaling_factor: ");
        SdxlException e = assertThrows(SdxlException.class, () -> ModelFolder.open(m));
        assertTrue(e.getMessage().contains("vae_decoder/config.json"), e.getMessage());
    }
}
