// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

/**
 * The floating-point operations of one model call as a function of its input size, accumulated
 * from the graph as it is written: each Conv and MatMul contributes a term proportional to the
 * latent pixels (convolutions, linear layers on image tokens, cross-attention), to their square
 * (self-attention over image tokens), or fixed per batch item (text and embedding layers). A
 * multiply-add counts as two operations.
 */
public final class FlopModel {

    /** What kind of layer a term comes from. */
    public enum Kind { CONV, LINEAR, ATTENTION }

    private final double[] perPixel = new double[3];
    private final double[] perPixelSquared = new double[3];
    private final double[] perItem = new double[3];

    /** Adds {@code coefficient} per output pixel at resolution level {@code level} (latent size / 2^level). */
    void perPixel(Kind kind, double coefficient, int level) {
        perPixel[kind.ordinal()] += coefficient / Math.pow(4, level);
    }

    void perPixelSquared(Kind kind, double coefficient) {
        perPixelSquared[kind.ordinal()] += coefficient;
    }

    void perItem(Kind kind, double flops) {
        perItem[kind.ordinal()] += flops;
    }

    /** FLOPs of one call on {@code batch} items of latent size {@code height × width}. */
    public double flops(int batch, int latentHeight, int latentWidth) {
        double total = 0;
        for (Kind k : Kind.values()) {
            total += flops(k, batch, latentHeight, latentWidth);
        }
        return total;
    }

    /** The FLOPs of one kind of layer. */
    public double flops(Kind kind, int batch, int latentHeight, int latentWidth) {
        double p = (double) latentHeight * latentWidth;
        int k = kind.ordinal();
        return batch * (perPixel[k] * p + perPixelSquared[k] * p * p + perItem[k]);
    }
}
