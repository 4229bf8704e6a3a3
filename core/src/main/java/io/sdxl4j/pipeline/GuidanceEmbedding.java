// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

/**
 * The guidance-scale embedding of guidance-distilled UNets (LCM, {@code time_cond_proj_dim}):
 * a sinusoidal embedding of w = 1000·(guidance − 1), as in diffusers'
 * {@code get_guidance_scale_embedding} (after the timestep embedding of Ho et al. 2020): sin
 * then cos of w·exp(−i·ln(10000)/(d/2 − 1)), zero-padded to an odd width.
 */
final class GuidanceEmbedding {

    private GuidanceEmbedding() {
    }

    /** The embedding of {@code guidanceScale} with {@code dim} values, in float32 as torch computes it. */
    public static float[] of(double guidanceScale, int dim) {
        float w = (float) (guidanceScale - 1) * 1000f;
        int half = dim / 2;
        float[] out = new float[dim];
        float step = (float) Math.log(10000f) / (half - 1);
        for (int i = 0; i < half; i++) {
            float e = w * (float) Math.exp(i * -step);
            out[i] = (float) Math.sin(e);
            out[half + i] = (float) Math.cos(e);
        }
        return out;
    }
}
