// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

/** The ONNX components of an SDXL export, in the folders {@code optimum-cli export onnx} writes. */
public enum Component {
    /** CLIP ViT-L text encoder ({@code CLIPTextModel}); absent from refiner exports. */
    TEXT_ENCODER("text_encoder"),
    /** OpenCLIP ViT-bigG text encoder with projection ({@code CLIPTextModelWithProjection}). */
    TEXT_ENCODER_2("text_encoder_2"),
    /** The denoising UNet. */
    UNET("unet"),
    /** The VAE decoder: latents to pixels. */
    VAE_DECODER("vae_decoder"),
    /** The VAE encoder: pixels to latent distribution (img2img, inpainting). */
    VAE_ENCODER("vae_encoder");

    private final String folder;

    Component(String folder) {
        this.folder = folder;
    }

    /** The component's folder name. */
    public String folder() {
        return folder;
    }

    /** The folder and file for messages: {@code unet/model.onnx}. */
    public String label() {
        return folder + "/model.onnx";
    }
}
