// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sdxl4j.PipelineOptions;
import io.sdxl4j.samples.BuiltInModel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The GPU check's benchmark main on the CPU (the rest of {@code gpu-check.sh} is tested by
 * {@code bench/gpu-check-test.sh}): one configuration on the tiny model through the device code
 * path ({@code javacpp-resident}), its result fields, the fused-attention switch and the
 * arguments.
 */
class GpuCheckTest {

    @Test
    void aConfigurationOnTheDevicePathGivesEveryFigure() {
        Map<String, String> args = GpuCheck.parse(new String[] {"--engine", "javacpp-resident", "--provider", "cpu",
                "--size", "64", "--steps", "3", "--images", "1", "--label", "tiny", "--fused", "false"});
        Map<String, Object> r = GpuCheck.run(args, BuiltInModel.extract());
        for (String key : List.of("label", "fused", "provider", "load_s", "first_image_s", "image_s", "images", "text_s",
                "denoise_host_s", "decode_s", "step_ms")) {
            assertTrue(r.containsKey(key), key + " missing from " + r);
        }
        assertEquals("tiny", r.get("label"));
        assertEquals("off", r.get("fused"));
        assertTrue(Double.parseDouble((String) r.get("image_s")) > 0, r.toString());
        assertTrue(Double.parseDouble((String) r.get("step_ms")) > 0, r.toString());
    }

    @Test
    void fusedSwitchSetsTheOptionsFusedAttention() {
        PipelineOptions.Builder b = PipelineOptions.builder();
        assertEquals("on", GpuCheck.fused(b, "true"));
        assertTrue(b.build().fusedAttention());
        assertEquals("off", GpuCheck.fused(b, "false"));
        assertFalse(b.build().fusedAttention());
        assertEquals("default", GpuCheck.fused(b, null));
    }

    @Test
    void arguments() {
        Map<String, String> a = GpuCheck.parse(new String[] {"--write-model", "/x", "--fp16", "--synthetic", "full"});
        assertEquals("/x", a.get("write-model"));
        assertEquals("true", a.get("fp16"));
        assertEquals("full", a.get("synthetic"));
        assertThrows(IllegalArgumentException.class, () -> GpuCheck.parse(new String[] {"--size"}));
        assertThrows(IllegalArgumentException.class, () -> GpuCheck.parse(new String[] {"size", "3"}));
        assertEquals(2.0, GpuCheck.median(List.of(3.0, 1.0, 2.0)));
        assertEquals(1.5, GpuCheck.median(List.of(2.0, 1.0)));
    }
}
