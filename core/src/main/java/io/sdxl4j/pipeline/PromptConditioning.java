// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import io.sdxl4j.NegativePrompt;
import io.sdxl4j.PromptEmbeds;
import io.sdxl4j.PromptMode;
import io.sdxl4j.text.TextConditioner;

/**
 * One model's text conditioning of a request, as diffusers' {@code encode_prompt}: the prompt's
 * embeddings and, under guidance, the negative prompt's — zero embeddings when there is none and
 * the model has {@code force_zeros_for_empty_prompt} (SDXL base), else the encoded text (the empty
 * string for none, as the refiner does). In A1111 mode the shorter of the two is padded with
 * empty chunks, as AUTOMATIC1111 does. diffusers applies {@code clip_skip} to the prompt only — its
 * {@code encode_prompt} takes the negative prompt's {@code hidden_states[-2]} whatever the clip skip
 * — while AUTOMATIC1111 skips the layers for both; each mode keeps its tool's rule.
 *
 * @param positive the prompt's embeddings
 * @param negative the negative prompt's, or null without guidance
 * @param images   images per prompt
 * @param hiddenSize width of the hidden states
 */
record PromptConditioning(PromptEmbeds positive, PromptEmbeds negative, int images, int hiddenSize) {

    static PromptConditioning encode(LoadedModel model, ResolvedRequest r) {
        TextConditioner text = model.text();
        PromptMode mode = r.request().promptMode();
        int clipSkip = r.request().clipSkip();
        int images = r.request().samples();
        PromptEmbeds positive = text.encode(r.prompt(), mode, clipSkip);
        if (!r.guidance()) {
            return new PromptConditioning(positive, null, images, text.hiddenSize());
        }
        PromptEmbeds negative;
        int negativeClipSkip = mode == PromptMode.A1111 ? clipSkip : 0;
        if (r.negativePrompt() instanceof NegativePrompt.Text t) {
            negative = text.encode(t.text(), mode, negativeClipSkip);
        } else if (model.folder().forceZerosForEmptyPrompt()) {
            negative = new PromptEmbeds(new float[positive.hidden().length], new float[positive.pooled().length]);
            return new PromptConditioning(positive, negative, images, text.hiddenSize());
        } else {
            negative = text.encode("", mode, negativeClipSkip);
        }
        int chunks = Math.max(text.chunks(positive), text.chunks(negative));
        return new PromptConditioning(text.padTo(positive, chunks, clipSkip),
                text.padTo(negative, chunks, negativeClipSkip), images, text.hiddenSize());
    }

    /** Tokens per row: 77, or 77 per chunk in A1111 mode. */
    int sequence() {
        return positive.hidden().length / hiddenSize;
    }

    /** Writes the rows of the UNet batch: {@code [negative rows; positive rows]} under guidance. */
    void writeTo(Workspace ws, TimeIds ids) {
        if (negative == null) {
            ws.setConditioning(0, images, positive.hidden(), positive.pooled(), ids.positive());
        } else {
            ws.setConditioning(0, images, negative.hidden(), negative.pooled(), ids.negative());
            ws.setConditioning(images, 2 * images, positive.hidden(), positive.pooled(), ids.positive());
        }
    }
}
