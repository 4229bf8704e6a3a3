// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import io.sdxl4j.random.NoiseSource;

/**
 * The element-wise arithmetic of the denoising loop (guidance, guidance rescale, every
 * scheduler's update) on float32 tensors of one engine's kind. Schedulers compute their step's
 * coefficients in Java and apply them through these operations, so the same scheduler code drives
 * host memory and, with an engine that brings its own implementation, device memory.
 *
 * <p>Operands of one call have the same element count; {@code dst} may alias an input.
 */
public interface TensorOps {

    /** A zeroed float32 tensor owned by the caller. */
    Tensor allocate(long... shape);

    /** A zeroed tensor of any type owned by the caller (model inputs such as an int64 timestep). */
    Tensor allocate(DataType type, long... shape);

    /**
     * True when this engine's tensors are {@link HostTensor}s: then {@link #upload}, {@link #download}
     * and {@link #onEngine} have nothing to move.
     */
    boolean hostResident();

    /** {@code dst = src}: host data into this engine's tensor (same type and element count). */
    void upload(Tensor dst, HostTensor src);

    /** {@code dst = src}: this engine's tensor into host memory (same type and element count). */
    void download(HostTensor dst, Tensor src);

    /**
     * {@code src} as this engine's tensor: {@code src} itself when the engine computes on host
     * memory, else a new tensor holding a copy. The caller closes what it got and {@code src}
     * (closing a tensor twice does nothing).
     */
    default Tensor onEngine(HostTensor src) {
        if (hostResident()) {
            return src;
        }
        Tensor t = allocate(src.dataType(), src.shape());
        upload(t, src);
        return t;
    }

    /** A view of rows {@code [from, to)} along the first axis, sharing memory with {@code t}. */
    Tensor slice(Tensor t, long from, long to);

    /** {@code dst = src}. */
    void copy(Tensor dst, Tensor src);

    /** {@code dst = a·x}. */
    void scale(Tensor dst, float a, Tensor x);

    /** {@code dst = a·x + b·y}. */
    void axpby(Tensor dst, float a, Tensor x, float b, Tensor y);

    /** {@code dst = a·x + b·y + c·z}. */
    void axpbypcz(Tensor dst, float a, Tensor x, float b, Tensor y, float c, Tensor z);

    /** {@code dst = dst + w·t}: one more term of a running sum. */
    void accumulate(Tensor dst, float w, Tensor t);

    /**
     * {@code dst = Σ weights[i]·terms[i]} for {@code i < count}: up to three terms in one pass, then
     * a running sum in order (the float rounding every engine reproduces). {@code dst} may alias
     * {@code terms[0]} only (read before it is written).
     */
    default void linearCombination(Tensor dst, float[] weights, Tensor[] terms, int count) {
        switch (count) {
            case 1 -> scale(dst, weights[0], terms[0]);
            case 2 -> axpby(dst, weights[0], terms[0], weights[1], terms[1]);
            case 3 -> axpbypcz(dst, weights[0], terms[0], weights[1], terms[1], weights[2], terms[2]);
            default -> {
                if (count < 1) {
                    throw new IllegalArgumentException("count: " + count + " terms");
                }
                axpbypcz(dst, weights[0], terms[0], weights[1], terms[1], weights[2], terms[2]);
                for (int k = 3; k < count; k++) {
                    if (terms[k] == dst) {
                        throw new IllegalArgumentException("dst aliases term " + k);
                    }
                    accumulate(dst, weights[k], terms[k]);
                }
            }
        }
    }

    /**
     * {@code dst[:, offset : offset + C] = a·src} for {@code dst} of shape [N, C_dst, H, W] and
     * {@code src} of shape [N, C, H, W]: writes into a channel range (the latents part of an
     * inpainting UNet's 9-channel input).
     */
    void scaleIntoChannels(Tensor dst, int channelOffset, float a, Tensor src);

    /**
     * {@code dst = (1 − m)·keep + m·dst}, with the mask {@code m} of shape [N, 1, H, W] broadcast over
     * the channels of {@code dst} and {@code keep} ([N, C, H, W]): inpainting's re-blend of the known
     * region.
     */
    void maskedBlend(Tensor dst, Tensor keep, Tensor mask);

    /** {@code dst = clamp(x, lo, hi)}. */
    void clamp(Tensor dst, Tensor x, float lo, float hi);

    /**
     * The standard deviation of each of the first-axis items of {@code x}, with Bessel's
     * correction (torch's {@code std} over every axis but the first), into {@code out}.
     */
    void stdPerItem(Tensor x, double[] out);

    /** Fills {@code dst} with the next standard normal draw of {@code noise}, in C order. */
    void randn(Tensor dst, NoiseSource noise);
}
