// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.tensor;

import io.sdxl4j.random.NoiseSource;
import java.nio.FloatBuffer;

/** {@link TensorOps} on {@link HostTensor}s, in float32 as torch computes them on the CPU. */
public final class HostTensorOps implements TensorOps {

    /** The one instance; it holds no state. */
    public static final HostTensorOps INSTANCE = new HostTensorOps();

    private HostTensorOps() {
    }

    @Override
    public HostTensor allocate(long... shape) {
        return HostTensor.floats(shape);
    }

    @Override
    public HostTensor allocate(DataType type, long... shape) {
        return HostTensor.allocate(type, shape);
    }

    @Override
    public boolean hostResident() {
        return true;
    }

    @Override
    public void upload(Tensor dst, HostTensor src) {
        if (dst != src) {
            host(dst).copyFrom(src);
        }
    }

    @Override
    public void download(HostTensor dst, Tensor src) {
        if (dst != src) {
            dst.copyFrom(host(src));
        }
    }

    @Override
    public HostTensor slice(Tensor t, long from, long to) {
        return host(t).slice(from, to);
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        host(dst).copyFrom(host(src));
    }

    @Override
    public void scale(Tensor dst, float a, Tensor x) {
        FloatBuffer d = floats(dst);
        FloatBuffer xs = floats(x, d);
        for (int i = 0, n = d.capacity(); i < n; i++) {
            d.put(i, a * xs.get(i));
        }
    }

    @Override
    public void axpby(Tensor dst, float a, Tensor x, float b, Tensor y) {
        FloatBuffer d = floats(dst);
        FloatBuffer xs = floats(x, d);
        FloatBuffer ys = floats(y, d);
        for (int i = 0, n = d.capacity(); i < n; i++) {
            d.put(i, a * xs.get(i) + b * ys.get(i));
        }
    }

    @Override
    public void axpbypcz(Tensor dst, float a, Tensor x, float b, Tensor y, float c, Tensor z) {
        FloatBuffer d = floats(dst);
        FloatBuffer xs = floats(x, d);
        FloatBuffer ys = floats(y, d);
        FloatBuffer zs = floats(z, d);
        for (int i = 0, n = d.capacity(); i < n; i++) {
            d.put(i, a * xs.get(i) + b * ys.get(i) + c * zs.get(i));
        }
    }

    @Override
    public void accumulate(Tensor dst, float w, Tensor t) {
        FloatBuffer d = floats(dst);
        FloatBuffer ts = floats(t, d);
        for (int i = 0, n = d.capacity(); i < n; i++) {
            d.put(i, d.get(i) + w * ts.get(i));
        }
    }

    @Override
    public void scaleIntoChannels(Tensor dst, int channelOffset, float a, Tensor src) {
        HostTensor d = host(dst);
        HostTensor s = host(src);
        if (d.rank() != 4 || s.rank() != 4 || d.dim(0) != s.dim(0) || d.dim(2) != s.dim(2) || d.dim(3) != s.dim(3)
                || channelOffset < 0 || channelOffset + s.dim(1) > d.dim(1)) {
            throw new IllegalArgumentException("channels " + channelOffset + "+ of " + d + " from " + s);
        }
        FloatBuffer df = d.floatBuffer();
        FloatBuffer sf = s.floatBuffer();
        int plane = (int) (s.dim(2) * s.dim(3));
        int srcChannels = (int) s.dim(1);
        int dstChannels = (int) d.dim(1);
        for (int n = 0; n < s.dim(0); n++) {
            int from = n * srcChannels * plane;
            int to = (n * dstChannels + channelOffset) * plane;
            for (int i = 0, count = srcChannels * plane; i < count; i++) {
                df.put(to + i, a * sf.get(from + i));
            }
        }
    }

    @Override
    public void maskedBlend(Tensor dst, Tensor keep, Tensor mask) {
        HostTensor d = host(dst);
        HostTensor k = host(keep);
        HostTensor m = host(mask);
        if (d.size() != k.size() || m.dim(0) != d.dim(0) || m.dim(1) != 1 || m.dim(2) != d.dim(2)
                || m.dim(3) != d.dim(3)) {
            throw new IllegalArgumentException("blend " + d + " with " + k + " under mask " + m);
        }
        FloatBuffer df = d.floatBuffer();
        FloatBuffer kf = k.floatBuffer();
        FloatBuffer mf = m.floatBuffer();
        int plane = (int) (d.dim(2) * d.dim(3));
        int channels = (int) d.dim(1);
        for (int n = 0; n < d.dim(0); n++) {
            for (int c = 0; c < channels; c++) {
                int base = (n * channels + c) * plane;
                int maskBase = n * plane;
                for (int i = 0; i < plane; i++) {
                    float w = mf.get(maskBase + i);
                    df.put(base + i, (1f - w) * kf.get(base + i) + w * df.get(base + i));
                }
            }
        }
    }

    @Override
    public void clamp(Tensor dst, Tensor x, float lo, float hi) {
        FloatBuffer d = floats(dst);
        FloatBuffer xs = floats(x, d);
        for (int i = 0, n = d.capacity(); i < n; i++) {
            d.put(i, Math.min(Math.max(xs.get(i), lo), hi));
        }
    }

    @Override
    public void stdPerItem(Tensor x, double[] out) {
        HostTensor h = host(x);
        int items = (int) h.dim(0);
        if (out.length < items) {
            throw new IllegalArgumentException("out: " + out.length + " slots for " + items + " items");
        }
        FloatBuffer f = h.floatBuffer();
        int per = h.size() / Math.max(items, 1);
        for (int item = 0; item < items; item++) {
            int base = item * per;
            double mean = 0;
            for (int i = 0; i < per; i++) {
                mean += f.get(base + i);
            }
            mean /= per;
            double ss = 0;
            for (int i = 0; i < per; i++) {
                double dv = f.get(base + i) - mean;
                ss += dv * dv;
            }
            out[item] = Math.sqrt(ss / Math.max(per - 1, 1));
        }
    }

    @Override
    public void randn(Tensor dst, NoiseSource noise) {
        HostTensor h = host(dst);
        noise.randn(h.floatBuffer(), h.size());
    }

    private static HostTensor host(Tensor t) {
        if (t instanceof HostTensor h) {
            return h;
        }
        throw new IllegalArgumentException("not a host tensor: " + t);
    }

    private static FloatBuffer floats(Tensor t) {
        return host(t).floatBuffer();
    }

    private static FloatBuffer floats(Tensor t, FloatBuffer like) {
        FloatBuffer f = host(t).floatBuffer();
        if (f.capacity() != like.capacity()) {
            throw new IllegalArgumentException("operand of " + f.capacity() + " elements, expected " + like.capacity());
        }
        return f;
    }
}
