// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.engine.OnnxGraph;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Fake SDXL UNets with optimum's input names that compute one simple function of every input,
 * {@code out = 0.5·sample + 0.001·t + 0.01·mean(ehs) + 0.01·mean(text_embeds) + 0.001·mean(time_ids)},
 * in the two export styles: float32 inputs with a scalar float timestep (current optimum) and
 * float16 inputs with an int64 {@code [batch]} timestep (older fp16 exports).
 */
public final class FakeUnets {

    private FakeUnets() {
    }

    /** Float32 inputs, timestep a float32 scalar. */
    public static void writeFloat32(Path file, int hidden, int pooled, int timeIds) throws IOException {
        writeFloat32(file, hidden, pooled, timeIds, 0);
    }

    /**
     * Float32 inputs, and with {@code condDim > 0} a {@code timestep_cond} input [batch, condDim]
     * (guidance-distilled UNets), whose mean is added to the output as well.
     */
    public static void writeFloat32(Path file, int hidden, int pooled, int timeIds, int condDim) throws IOException {
        OnnxGraph g = new OnnxGraph()
                .input("sample", OnnxGraph.FLOAT, "batch_size", 4L, "height", "width")
                .input("timestep", OnnxGraph.FLOAT)
                .input("encoder_hidden_states", OnnxGraph.FLOAT, "batch_size", "sequence_length", (long) hidden)
                .input("text_embeds", OnnxGraph.FLOAT, "batch_size", (long) pooled)
                .input("time_ids", OnnxGraph.FLOAT, "batch_size", (long) timeIds)
                .output("out_sample", OnnxGraph.FLOAT, "batch_size", 4L, "height", "width");
        if (condDim > 0) {
            g.input("timestep_cond", OnnxGraph.FLOAT, "batch_size", (long) condDim);
            body(g, "sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "body_out");
            g.node("ReduceMean", new String[] {"timestep_cond"}, "cond_mean", "axes", new long[] {1}, "keepdims", 1L)
                    .node("Reshape", new String[] {"cond_mean", "col"}, "cond_col")
                    .node("Add", new String[] {"body_out", "cond_col"}, "out_sample");
        } else {
            body(g, "sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "out_sample");
        }
        g.write(file);
    }

    /** Float16 inputs and output, timestep int64 [batch]. */
    public static void writeFloat16(Path file, int hidden, int pooled, int timeIds) throws IOException {
        OnnxGraph g = new OnnxGraph()
                .input("sample", OnnxGraph.FLOAT16, "batch_size", 4L, "height", "width")
                .input("timestep", OnnxGraph.INT64, "batch_size")
                .input("encoder_hidden_states", OnnxGraph.FLOAT16, "batch_size", "sequence_length", (long) hidden)
                .input("text_embeds", OnnxGraph.FLOAT16, "batch_size", (long) pooled)
                .input("time_ids", OnnxGraph.FLOAT16, "batch_size", (long) timeIds)
                .output("out_sample", OnnxGraph.FLOAT16, "batch_size", 4L, "height", "width")
                .node("Cast", new String[] {"sample"}, "s32", "to", (long) OnnxGraph.FLOAT)
                .node("Cast", new String[] {"timestep"}, "t32", "to", (long) OnnxGraph.FLOAT)
                .node("Cast", new String[] {"encoder_hidden_states"}, "e32", "to", (long) OnnxGraph.FLOAT)
                .node("Cast", new String[] {"text_embeds"}, "p32", "to", (long) OnnxGraph.FLOAT)
                .node("Cast", new String[] {"time_ids"}, "i32", "to", (long) OnnxGraph.FLOAT);
        body(g, "s32", "t32", "e32", "p32", "i32", "out32");
        g.node("Cast", new String[] {"out32"}, "out_sample", "to", (long) OnnxGraph.FLOAT16);
        g.write(file);
    }

    /**
     * An inpainting UNet (9 input channels: latents, mask, masked-image latents) whose output also
     * carries 0.3·mask, so that tests can see the mask reach it.
     */
    public static void writeInpainting(Path file, int hidden, int pooled, int timeIds) throws IOException {
        OnnxGraph g = new OnnxGraph()
                .input("sample", OnnxGraph.FLOAT, "batch_size", 9L, "height", "width")
                .input("timestep", OnnxGraph.FLOAT)
                .input("encoder_hidden_states", OnnxGraph.FLOAT, "batch_size", "sequence_length", (long) hidden)
                .input("text_embeds", OnnxGraph.FLOAT, "batch_size", (long) pooled)
                .input("time_ids", OnnxGraph.FLOAT, "batch_size", (long) timeIds)
                .output("out_sample", OnnxGraph.FLOAT, "batch_size", 4L, "height", "width")
                .longs("zero", 0).longs("four", 4).longs("five", 5).longs("axis1", 1).scalar("mask_gain", 0.3f)
                .node("Slice", new String[] {"sample", "zero", "four", "axis1"}, "latents")
                .node("Slice", new String[] {"sample", "four", "five", "axis1"}, "mask")
                .node("Mul", new String[] {"mask", "mask_gain"}, "mask_term");
        body(g, "latents", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", "body_out");
        g.node("Add", new String[] {"body_out", "mask_term"}, "out_sample");
        g.write(file);
    }

    /**
     * An older-style VAE encoder that outputs a latent sample ({@code latent_sample}) instead of the
     * distribution's parameters: 2×2 average pooling, the first channel repeated as the fourth.
     */
    public static void writeSamplingVaeEncoder(Path file) throws IOException {
        new OnnxGraph()
                .input("sample", OnnxGraph.FLOAT, "batch_size", 3L, "height", "width")
                .output("latent_sample", OnnxGraph.FLOAT, "batch_size", 4L, "latent_height", "latent_width")
                .longs("zero", 0).longs("one", 1).longs("axis1", 1)
                .node("AveragePool", new String[] {"sample"}, "pooled", "kernel_shape", new long[] {2, 2}, "strides",
                        new long[] {2, 2})
                .node("Slice", new String[] {"pooled", "zero", "one", "axis1"}, "first")
                .node("Concat", new String[] {"pooled", "first"}, "latent_sample", "axis", 1L)
                .write(file);
    }

    private static void body(OnnxGraph g, String sample, String t, String ehs, String pooled, String ids, String out) {
        g.scalar("half", 0.5f).scalar("milli", 0.001f).scalar("centi", 0.01f).longs("col", -1, 1, 1, 1)
                .node("Reshape", new String[] {t, "col"}, "t_col")
                .node("Mul", new String[] {"t_col", "milli"}, "t_term")
                .node("ReduceMean", new String[] {ehs}, "ehs_mean", "axes", new long[] {1, 2}, "keepdims", 1L)
                .node("Reshape", new String[] {"ehs_mean", "col"}, "ehs_col")
                .node("Mul", new String[] {"ehs_col", "centi"}, "ehs_term")
                .node("ReduceMean", new String[] {pooled}, "pooled_mean", "axes", new long[] {1}, "keepdims", 1L)
                .node("Reshape", new String[] {"pooled_mean", "col"}, "pooled_col")
                .node("Mul", new String[] {"pooled_col", "centi"}, "pooled_term")
                .node("ReduceMean", new String[] {ids}, "ids_mean", "axes", new long[] {1}, "keepdims", 1L)
                .node("Reshape", new String[] {"ids_mean", "col"}, "ids_col")
                .node("Mul", new String[] {"ids_col", "milli"}, "ids_term")
                .node("Mul", new String[] {sample, "half"}, "s_term")
                .node("Add", new String[] {"s_term", "t_term"}, "a1")
                .node("Add", new String[] {"a1", "ehs_term"}, "a2")
                .node("Add", new String[] {"a2", "pooled_term"}, "a3")
                .node("Add", new String[] {"a3", "ids_term"}, out);
    }
}
