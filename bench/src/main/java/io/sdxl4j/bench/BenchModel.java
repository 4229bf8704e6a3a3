// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.engine.Engine;
import io.sdxl4j.engine.Engines;
import io.sdxl4j.model.ModelFolder;
import io.sdxl4j.pipeline.UNet;
import io.sdxl4j.samples.BuiltInModel;
import io.sdxl4j.text.PromptEmbeds;
import io.sdxl4j.text.TextConditioner;
import java.nio.file.Path;

/**
 * The model under benchmark: {@code -Dsdxl4j.model=DIR} (an SDXL ONNX export), else the built-in
 * tiny random model. Opens the engine, text conditioning and UNet the way the pipeline does.
 */
final class BenchModel implements AutoCloseable {

    final ModelFolder folder;
    final Engine engine;
    final TextConditioner text;
    final UNet unet;

    BenchModel() {
        String dir = System.getProperty("sdxl4j.model");
        Path path = dir == null || dir.isBlank() ? BuiltInModel.extract() : Path.of(dir);
        this.folder = ModelFolder.open(path);
        this.engine = Engines.create(PipelineOptions.defaults());
        this.text = TextConditioner.open(folder, engine);
        this.unet = UNet.open(folder, engine, text.hiddenSize(), text.pooledSize());
    }

    PromptEmbeds prompt(String prompt) {
        return text.encode(prompt);
    }

    @Override
    public void close() {
        unet.close();
        text.close();
        engine.close();
    }
}
