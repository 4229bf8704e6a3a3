// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.Locale;

/**
 * How inference timesteps are spread over the training timesteps: the three strategies of Lin et
 * al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Table 2, as diffusers
 * names them in {@code timestep_spacing}.
 */
public enum TimestepSpacing {
    /** Evenly spaced from 0 to T-1, both ends included. */
    LINSPACE,
    /** Multiples of T/n from 0, plus {@code steps_offset} (SDXL base's choice). */
    LEADING,
    /** Multiples of T/n counted down from T, minus one; keeps the last training step (Turbo/Lightning). */
    TRAILING;

    /** The config value ({@code "leading"}). */
    public String configValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The spacing of a config value ({@code "trailing"}).
     *
     * @throws InvalidRequestException for the field {@code timestepSpacing}
     */
    public static TimestepSpacing parse(String name) {
        for (TimestepSpacing s : values()) {
            if (name != null && s.configValue().equalsIgnoreCase(name.strip())) {
                return s;
            }
        }
        throw new InvalidRequestException("timestepSpacing", name, "is not one of leading, trailing, linspace");
    }
}
