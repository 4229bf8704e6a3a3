// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench.synthetic;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One fp32 MatMul, {@code x[n, n] · W[n, n]} with W a weight as in the UNet's linear layers (so
 * ONNX Runtime pre-packs it the same way): the machine's matrix-multiply rate through ONNX Runtime,
 * the ceiling the UNet's FLOP rate is compared with.
 */
public final class MatMulModel {

    private MatMulModel() {
    }

    /** Writes {@code model.onnx} (and its weight file) into {@code dir}; returns the model file. */
    public static Path write(Path dir, int n) throws IOException {
        Files.createDirectories(dir);
        Path onnx = dir.resolve("matmul-" + n + ".onnx");
        GraphBuilder g;
        try (WeightSink sink = WeightSink.external(dir.resolve("matmul-" + n + ".onnx_data"))) {
            g = new GraphBuilder(sink, new FlopModel(), GraphBuilder.FLOAT, 7);
            String x = g.input("x", GraphBuilder.FLOAT, (long) n, (long) n);
            String y = g.node("MatMul", List.of(x, g.randomWeight("w", n, n, n)));
            g.output(y, "y", GraphBuilder.FLOAT, (long) n, (long) n);
        }
        g.write(onnx, "sdxl4j-matmul");
        return onnx;
    }

    /** FLOPs of one call: 2n³. */
    public static double flops(int n) {
        return 2.0 * n * n * n;
    }
}
