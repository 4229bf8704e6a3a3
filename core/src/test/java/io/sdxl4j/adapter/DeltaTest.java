// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.adapter.TestFiles.T;
import io.sdxl4j.model.Component;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LyCORIS deltas against the definitions written out index by index: LoCon with a Tucker
 * mid, LoHa (plain, folded-kernel conv, Tucker), LoKr (whole factors, split factors, conv, Tucker)
 * and full diffs, with their scales.
 */
class DeltaTest {

    private static final String STEM = "lora_unet_down_blocks_0_resnets_0_conv1";

    @TempDir
    Path dir;

    private final List<AdapterFile> opened = new ArrayList<>();

    @AfterEach
    void close() {
        opened.forEach(AdapterFile::close);
    }

    private Delta delta(Map<String, T> tensors) {
        Path file = TestFiles.safetensors(dir.resolve("a" + opened.size() + ".safetensors"), tensors);
        AdapterFile a = AdapterFile.load(file);
        opened.add(a);
        assertEquals(1, a.moduleCount());
        AdapterModule m = a.modules().get(0);
        assertEquals(Component.UNET, m.component());
        assertEquals("down_blocks_0_resnets_0_conv1", m.target());
        return m.delta();
    }

    @Test
    void loconWithAMidCoreIsUpTimesMidTimesDownAtEveryKernelPosition() {
        int r = 3;
        int in = 4;
        int out = 5;
        int k = 3;
        float[] down = TestFiles.random(r * in, 1);
        float[] mid = TestFiles.random(r * r * k * k, 2);
        float[] up = TestFiles.random(out * r, 3);
        float alpha = 1.5f;
        Delta d = delta(TestFiles.map(
                STEM + ".lora_down.weight", T.f32(down, r, in, 1, 1),
                STEM + ".lora_mid.weight", T.f32(mid, r, r, k, k),
                STEM + ".lora_up.weight", T.f32(up, out, r, 1, 1),
                STEM + ".alpha", T.scalar(alpha)));
        assertEquals("locon-tucker", d.kind());
        assertArrayEquals(new long[] {out, in, k, k}, d.shape());
        float[] expected = new float[out * in * k * k];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                for (int y = 0; y < k * k; y++) {
                    double s = 0;
                    for (int a = 0; a < r; a++) {
                        for (int b = 0; b < r; b++) {
                            s += up[o * r + a] * mid[(a * r + b) * k * k + y] * down[b * in + i];
                        }
                    }
                    expected[(o * in + i) * k * k + y] = (float) (alpha / r * s);
                }
            }
        }
        assertArrayEquals(expected, d.compute(), 1e-5f);
        assertTrue(d.fits(new long[] {out, in, k, k}));
        assertFalse(d.fits(new long[] {out, in, 1, 1}));
    }

    @Test
    void lohaIsTheHadamardProductOfTwoLowRankProductsTimesAlphaOverRank() {
        int r = 2;
        int in = 6;
        int out = 4;
        float[] w1a = TestFiles.random(out * r, 4);
        float[] w1b = TestFiles.random(r * in, 5);
        float[] w2a = TestFiles.random(out * r, 6);
        float[] w2b = TestFiles.random(r * in, 7);
        Delta d = delta(TestFiles.map(
                STEM + ".hada_w1_a", T.f32(w1a, out, r), STEM + ".hada_w1_b", T.f32(w1b, r, in),
                STEM + ".hada_w2_a", T.f32(w2a, out, r), STEM + ".hada_w2_b", T.f32(w2b, r, in),
                STEM + ".alpha", T.scalar(1f)));
        assertEquals(0.5f, d.scale());
        float[] expected = new float[out * in];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double p1 = 0;
                double p2 = 0;
                for (int k = 0; k < r; k++) {
                    p1 += w1a[o * r + k] * w1b[k * in + i];
                    p2 += w2a[o * r + k] * w2b[k * in + i];
                }
                expected[o * in + i] = (float) (0.5 * p1 * p2);
            }
        }
        assertArrayEquals(expected, d.compute(), 1e-6f);
    }

    @Test
    void lohaOfAConvolutionStoredWithItsKernelFoldedFitsTheConvolution() {
        int r = 2;
        Delta d = delta(TestFiles.map(
                STEM + ".hada_w1_a", T.f32(TestFiles.random(8 * r, 1), 8, r),
                STEM + ".hada_w1_b", T.f32(TestFiles.random(r * 36, 2), r, 36),
                STEM + ".hada_w2_a", T.f32(TestFiles.random(8 * r, 3), 8, r),
                STEM + ".hada_w2_b", T.f32(TestFiles.random(r * 36, 4), r, 36)));
        assertEquals(1f, d.scale(), "no alpha: alpha = rank");
        assertArrayEquals(new long[] {8, 36}, d.shape());
        assertTrue(d.fits(new long[] {8, 4, 3, 3}));
        assertFalse(d.fits(new long[] {8, 36, 1, 1, 2}));
    }

    @Test
    void lohaWithTuckerCoresRebuildsEachProductAsLycorisDoes() {
        int r = 2;
        int in = 3;
        int out = 4;
        int kk = 4; // 2×2 kernel
        float[] t1 = TestFiles.random(r * r * kk, 11);
        float[] t2 = TestFiles.random(r * r * kk, 12);
        float[] w1a = TestFiles.random(r * out, 13);
        float[] w1b = TestFiles.random(r * in, 14);
        float[] w2a = TestFiles.random(r * out, 15);
        float[] w2b = TestFiles.random(r * in, 16);
        Delta d = delta(TestFiles.map(
                STEM + ".hada_t1", T.f32(t1, r, r, 2, 2), STEM + ".hada_t2", T.f32(t2, r, r, 2, 2),
                STEM + ".hada_w1_a", T.f32(w1a, r, out), STEM + ".hada_w1_b", T.f32(w1b, r, in),
                STEM + ".hada_w2_a", T.f32(w2a, r, out), STEM + ".hada_w2_b", T.f32(w2b, r, in),
                STEM + ".alpha", T.scalar(3f)));
        assertArrayEquals(new long[] {out, in, 2, 2}, d.shape());
        float[] expected = new float[out * in * kk];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                for (int y = 0; y < kk; y++) {
                    // einsum("i j ..., i p, j r -> p r ...", t, w_a, w_b)
                    double a = 0;
                    double b = 0;
                    for (int p = 0; p < r; p++) {
                        for (int q = 0; q < r; q++) {
                            a += t1[(p * r + q) * kk + y] * w1a[p * out + o] * w1b[q * in + i];
                            b += t2[(p * r + q) * kk + y] * w2a[p * out + o] * w2b[q * in + i];
                        }
                    }
                    expected[(o * in + i) * kk + y] = (float) (3.0 / r * a * b);
                }
            }
        }
        assertArrayEquals(expected, d.compute(), 1e-5f);
    }

    @Test
    void lokrWithBothFactorsWholeIsTheirKroneckerProductAtScaleOneWhateverTheAlpha() {
        float[] w1 = TestFiles.random(2 * 3, 21);
        float[] w2 = TestFiles.random(4 * 5, 22);
        Delta d = delta(TestFiles.map(STEM + ".lokr_w1", T.f32(w1, 2, 3), STEM + ".lokr_w2", T.f32(w2, 4, 5),
                STEM + ".alpha", T.scalar(8f)));
        assertEquals(1f, d.scale());
        assertArrayEquals(new long[] {8, 15}, d.shape());
        assertArrayEquals(kron(w1, 2, 3, w2, 4, 5, 1), d.compute(), 0f);
    }

    @Test
    void lokrWithASplitSecondFactorTakesItsRankForTheScale() {
        int r = 2;
        float[] w1 = TestFiles.random(2 * 2, 31);
        float[] w2a = TestFiles.random(3 * r, 32);
        float[] w2b = TestFiles.random(r * 4, 33);
        Delta d = delta(TestFiles.map(STEM + ".lokr_w1", T.f32(w1, 2, 2),
                STEM + ".lokr_w2_a", T.f32(w2a, 3, r), STEM + ".lokr_w2_b", T.f32(w2b, r, 4),
                STEM + ".alpha", T.scalar(1f)));
        assertEquals(0.5f, d.scale());
        float[] w2 = matmul(w2a, w2b, 3, r, 4);
        assertArrayEquals(kron(w1, 2, 2, w2, 3, 4, 0.5f), d.compute(), 1e-6f);
    }

    @Test
    void lokrWithASplitFirstFactorTakesThatRank() {
        int r = 3;
        float[] w1a = TestFiles.random(2 * r, 41);
        float[] w1b = TestFiles.random(r * 2, 42);
        float[] w2 = TestFiles.random(3 * 3, 43);
        Delta d = delta(TestFiles.map(STEM + ".lokr_w1_a", T.f32(w1a, 2, r), STEM + ".lokr_w1_b", T.f32(w1b, r, 2),
                STEM + ".lokr_w2", T.f32(w2, 3, 3), STEM + ".alpha", T.scalar(6f)));
        assertEquals(2f, d.scale());
        assertArrayEquals(kron(matmul(w1a, w1b, 2, r, 2), 2, 2, w2, 3, 3, 2f), d.compute(), 1e-5f);
    }

    @Test
    void lokrOfAConvolutionKeepsTheKernelOfTheSecondFactor() {
        float[] w1 = TestFiles.random(2 * 2, 51);
        float[] w2 = TestFiles.random(3 * 2 * 3 * 3, 52);
        Delta d = delta(TestFiles.map(STEM + ".lokr_w1", T.f32(w1, 2, 2), STEM + ".lokr_w2", T.f32(w2, 3, 2, 3, 3)));
        assertArrayEquals(new long[] {6, 4, 3, 3}, d.shape());
        float[] got = d.compute();
        // torch.kron(w1[..., None, None], w2)[i*3+p, j*2+q, y, x] = w1[i, j] · w2[p, q, y, x]
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                for (int p = 0; p < 3; p++) {
                    for (int q = 0; q < 2; q++) {
                        for (int y = 0; y < 9; y++) {
                            float want = w1[i * 2 + j] * w2[(p * 2 + q) * 9 + y];
                            assertEquals(want, got[((i * 3 + p) * 4 + (j * 2 + q)) * 9 + y], 0f);
                        }
                    }
                }
            }
        }
    }

    @Test
    void lokrWithATuckerSecondFactorRebuildsItAsLycorisDoes() {
        int r = 2;
        float[] w1 = TestFiles.random(2 * 2, 61);
        float[] t2 = TestFiles.random(r * r * 9, 62);
        float[] w2a = TestFiles.random(r * 3, 63);
        float[] w2b = TestFiles.random(r * 2, 64);
        Delta d = delta(TestFiles.map(STEM + ".lokr_w1", T.f32(w1, 2, 2), STEM + ".lokr_t2", T.f32(t2, r, r, 3, 3),
                STEM + ".lokr_w2_a", T.f32(w2a, r, 3), STEM + ".lokr_w2_b", T.f32(w2b, r, 2),
                STEM + ".alpha", T.scalar(1f)));
        assertArrayEquals(new long[] {6, 4, 3, 3}, d.shape());
        assertEquals(0.5f, d.scale());
        float[] got = d.compute();
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                for (int p = 0; p < 3; p++) {
                    for (int q = 0; q < 2; q++) {
                        for (int y = 0; y < 9; y++) {
                            double w2 = 0;
                            for (int a = 0; a < r; a++) {
                                for (int b = 0; b < r; b++) {
                                    w2 += t2[(a * r + b) * 9 + y] * w2a[a * 3 + p] * w2b[b * 2 + q];
                                }
                            }
                            float want = (float) (0.5 * w1[i * 2 + j] * w2);
                            assertEquals(want, got[((i * 3 + p) * 4 + (j * 2 + q)) * 9 + y], 1e-6f);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aFullDiffIsTheDeltaItself() {
        float[] diff = TestFiles.random(4 * 3, 71);
        Delta d = delta(TestFiles.map(STEM + ".diff", T.f32(diff, 4, 3)));
        assertEquals("full", d.kind());
        assertArrayEquals(diff, d.compute(), 0f);
    }

    @Test
    void kohyaLoraWithAZeroAlphaHasScaleOneAsKohyaReadsIt() {
        Delta d = delta(TestFiles.map(STEM + ".lora_down.weight", T.f32(new float[8], 2, 4),
                STEM + ".lora_up.weight", T.f32(new float[6], 3, 2), STEM + ".alpha", T.scalar(0f)));
        assertEquals(1f, d.scale());
        Delta e = delta(TestFiles.map(STEM + ".lora_down.weight", T.f32(new float[8], 2, 4),
                STEM + ".lora_up.weight", T.f32(new float[6], 3, 2), STEM + ".alpha", T.scalar(1f)));
        assertEquals(0.5f, e.scale());
    }

    private static float[] matmul(float[] a, float[] b, int m, int k, int n) {
        float[] out = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += a[i * k + p] * b[p * n + j];
                }
                out[i * n + j] = (float) s;
            }
        }
        return out;
    }

    private static float[] kron(float[] a, int m, int n, float[] b, int p, int q, float scale) {
        float[] out = new float[m * p * n * q];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                for (int r = 0; r < p; r++) {
                    for (int c = 0; c < q; c++) {
                        out[(i * p + r) * (n * q) + j * q + c] = scale * a[i * n + j] * b[r * q + c];
                    }
                }
            }
        }
        return out;
    }
}
