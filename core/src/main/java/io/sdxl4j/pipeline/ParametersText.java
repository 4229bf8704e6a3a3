// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.GenerationMode;
import io.sdxl4j.GenerationRequest;
import io.sdxl4j.NegativePrompt;
import io.sdxl4j.Refiner;
import io.sdxl4j.image.GenerationParameters;
import java.util.ArrayList;
import java.util.List;

/** The A1111 parameters text of a resolved request, as its images carry it. */
final class ParametersText {

    private ParametersText() {
    }

    private static String stem(java.nio.file.Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    static String of(ResolvedRequest r, String model, String refinerModel) {
        GenerationRequest q = r.request();
        List<String> extra = new ArrayList<>();
        if (q.guidanceRescale() > 0) {
            extra.add("CFG Rescale phi: " + q.guidanceRescale());
        }
        if (q.clipSkip() > 0) {
            extra.add("Clip skip: " + (q.clipSkip() + 1)); // A1111 counts the last layer as 1
        }
        switch (q.mode()) {
            case GenerationMode.TextToImage t -> { }
            case GenerationMode.ImageToImage i -> extra.add("Denoising strength: " + i.strength());
            case GenerationMode.Inpaint i -> {
                extra.add("Denoising strength: " + i.strength());
                if (i.maskBlur() > 0) {
                    extra.add("Mask blur: " + i.maskBlur());
                }
            }
        }
        q.style().ifPresent(s -> extra.add("Style: " + s.name()));
        if (!r.adapters().loras().isEmpty()) {
            extra.add("Lora: " + String.join(" ", r.adapters().loras().stream().map(l -> stem(l.file()) + ":"
                    + l.scale()).toList()));
        }
        if (!r.adapters().embeddings().isEmpty()) {
            extra.add("Embeddings: " + String.join(" ", r.adapters().embeddings().stream().map(e -> stem(e.file()))
                    .toList()));
        }
        r.refiner().ifPresent(part -> {
            extra.add("Refiner: " + refinerModel);
            extra.add(switch (part.refiner()) {
                case Refiner.Ensemble e -> "Refiner switch at: " + e.highNoiseFraction();
                case Refiner.SecondPass p -> "Refiner strength: " + p.strength();
            });
        });
        String negative = r.negativePrompt() instanceof NegativePrompt.Text t ? t.text() : null;
        return GenerationParameters.format(r.prompt(), negative, q.steps(), r.scheduler().samplerName(),
                q.guidanceScale(), r.seed(), r.width(), r.height(), model, String.join(", ", extra));
    }
}
