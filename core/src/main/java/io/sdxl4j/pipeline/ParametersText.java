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
