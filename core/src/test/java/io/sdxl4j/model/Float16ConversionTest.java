// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.GenerationRequest;
import io.sdxl4j.PipelineOptions;
import io.sdxl4j.Precision;
import io.sdxl4j.SdxlPipeline;
import io.sdxl4j.TestData;
import io.sdxl4j.onnx.Onnx;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class Float16ConversionTest {

    private static final int FLOAT = Onnx.TensorProto.DataType.FLOAT_VALUE;
    private static final int FLOAT16 = Onnx.TensorProto.DataType.FLOAT16_VALUE;

    @Test
    void theTinyUnetBecomesFloat16InsideWithItsInterfaceAndItsTimeEmbeddingSinesInFloat32() {
        Onnx.ModelProto unet = UnetUpsamplers.read(TestData.tinyModel().resolve("unet/model.onnx"), "unet");
        Float16Conversion.Converted c = Float16Conversion.convert(unet, TestData.tinyModel().resolve("unet"), "unet");
        Onnx.GraphProto g = c.model().getGraph();
        assertEquals(unet.getGraph().getInputList(), g.getInputList(), "the inputs stay float32");
        assertEquals(unet.getGraph().getOutputList(), g.getOutputList(), "the outputs too");
        for (Onnx.TensorProto t : g.getInitializerList()) {
            if (t.getDimsCount() > 0 && t.getDims(0) > 8 && t.getDataType() != Onnx.TensorProto.DataType.INT64_VALUE) {
                assertEquals(FLOAT16, t.getDataType(), t.getName() + ": every weight is float16");
            }
        }
        var types = ElementTypes.of(g);
        for (Onnx.NodeProto n : g.getNodeList()) {
            if (Set.of("Sin", "Cos").contains(n.getOpType())) {
                assertEquals(FLOAT, types.get(n.getOutput(0)), n.getName() + " computes in float32, as diffusers");
            }
            if (Set.of("MatMul", "Conv", "Softmax").contains(n.getOpType()) && !n.getName().contains("time_")) {
                assertEquals(FLOAT16, types.get(n.getOutput(0)), n.getName());
            }
        }
        assertEquals(FLOAT, types.get("out_sample"), "cast back to float32 at the output");
        assertTrue(c.castsAdded() >= 4, "casts at the float inputs, the sines and the output");
    }

    @Test
    void mergedAdapterWeightsOfConvertedInitializersBecomeFloat16Too() {
        java.nio.file.Path file = TestData.tinyModel().resolve("unet/model.onnx");
        Onnx.ModelProto unet = UnetUpsamplers.read(file, "unet");
        Onnx.TensorProto weight = unet.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().startsWith("onnx::MatMul_")).findFirst().orElseThrow();
        long[] shape = weight.getDimsList().stream().mapToLong(Long::longValue).toArray();
        io.sdxl4j.tensor.HostTensor merged = io.sdxl4j.tensor.HostTensor.floats(shape);
        merged.floatBuffer().put(0, 1.5f);
        io.sdxl4j.engine.ModelSource source = ModelGraphs.half(io.sdxl4j.engine.ModelSource.of(file), "unet",
                java.util.Map.of(weight.getName(), merged));
        io.sdxl4j.tensor.HostTensor half = source.initializers().get(weight.getName());
        try {
            assertEquals(io.sdxl4j.tensor.DataType.FLOAT16, half.dataType());
            assertEquals(1.5f, Float.float16ToFloat(half.halfBuffer().get(0)));
            assertTrue(merged.isClosed(), "the float32 replacement was the conversion's to free");
            assertEquals(Float16Conversion.TAG, source.tag());
        } finally {
            source.initializers().values().forEach(io.sdxl4j.tensor.HostTensor::close);
        }
    }

    @Test
    void theFloat16UnetMakesTheTinyModelsImageWithinTheStatedToleranceOfFloat32() {
        GenerationRequest request = GenerationRequest.builder("a red apple on a table").negativePrompt("blurry")
                .size(64, 64).steps(8).seed(11).build();
        float[] fp32;
        float[] fp16;
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel())) {
            fp32 = p.generate(request).image().pixels();
        }
        try (SdxlPipeline p = SdxlPipeline.load(TestData.tinyModel(),
                PipelineOptions.builder().precision(Precision.FP16).build())) {
            fp16 = p.generate(request).image().pixels();
        }
        double max = 0;
        double sum = 0;
        for (int i = 0; i < fp32.length; i++) {
            double d = Math.abs(fp32[i] - fp16[i]);
            max = Math.max(max, d);
            sum += d;
        }
        double mean = sum / fp32.length;
        // Measured on this request (2026-12-02): max 0.0031, mean 0.00044 of pixels in [0, 1]; the bounds
        // leave about 3× (bench/RESULTS.md, "fp16 conversion").
        assertTrue(max > 0, "the float16 graph ran (an identical image would mean it was not converted)");
        assertTrue(max <= 0.01, "max abs error " + max);
        assertTrue(mean <= 0.0015, "mean abs error " + mean);
    }

    @Test
    void anExternalWeightIsConvertedFromItsDataFileAndOneOutsideTheModelFolderIsRefused(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        float[] w = {0.5f, -1.25f, 3.0f, 1e-3f, 65504f, -2.0f};
        java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(4 * (w.length + 2)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        data.putFloat(9f).putFloat(9f); // the weight starts 8 bytes in
        for (float v : w) {
            data.putFloat(v);
        }
        java.nio.file.Files.write(dir.resolve("weights.bin"), data.array());
        Onnx.ModelProto model = matMulWithExternalWeight("weights.bin");
        Float16Conversion.Converted c = Float16Conversion.convert(model, dir, "unet/model.onnx");
        io.sdxl4j.tensor.HostTensor half = c.weights().get("w");
        try {
            assertEquals(io.sdxl4j.tensor.DataType.FLOAT16, half.dataType());
            for (int i = 0; i < w.length; i++) {
                assertEquals(w[i], Float.float16ToFloat(half.halfBuffer().get(i)), Math.abs(w[i]) * 1e-3, "w[" + i + "]");
            }
        } finally {
            c.weights().values().forEach(io.sdxl4j.tensor.HostTensor::close);
        }
        io.sdxl4j.SdxlException e = org.junit.jupiter.api.Assertions.assertThrows(io.sdxl4j.SdxlException.class,
                () -> Float16Conversion.convert(matMulWithExternalWeight("../weights.bin"), dir.resolve("unet"),
                        "unet/model.onnx"));
        assertTrue(e.getMessage().contains("points outside the model folder"), e.getMessage());
    }

    // y[2, 3] = x[2, 2] · w[2, 3], w external at byte 8 of location.
    private static Onnx.ModelProto matMulWithExternalWeight(String location) {
        Onnx.TensorProto w = Onnx.TensorProto.newBuilder().setName("w").setDataType(FLOAT).addDims(2).addDims(3)
                .setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue(location))
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("offset").setValue("8"))
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("length").setValue("24"))
                .build();
        Onnx.GraphProto g = Onnx.GraphProto.newBuilder().setName("t")
                .addInput(value("x", 2, 2)).addOutput(value("y", 2, 3)).addInitializer(w)
                .addNode(Onnx.NodeProto.newBuilder().setName("/proj/MatMul").setOpType("MatMul").addInput("x")
                        .addInput("w").addOutput("y"))
                .build();
        return Onnx.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(17)).build();
    }

    private static Onnx.ValueInfoProto value(String name, long... dims) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(FLOAT).setShape(shape))).build();
    }
}
