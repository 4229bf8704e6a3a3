// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import io.sdxl4j.SchedulerType;
import io.sdxl4j.TimestepSpacing;
import java.util.Locale;

/**
 * Builds the scheduler of a {@link SchedulerType} from a model's {@code scheduler_config.json}, as
 * diffusers' {@code from_config(config, **overrides)} does: the type's diffusers class, with its
 * variant's overrides (Karras sigmas, the SDE algorithm) on top of the model's values.
 */
public final class Schedulers {

    private Schedulers() {
    }

    /** A new scheduler of {@code type} for {@code config}. */
    public static Scheduler create(SchedulerType type, SchedulerConfig config) {
        SchedulerConfig karras = config.with("use_karras_sigmas", true);
        return switch (type) {
            case EULER -> new EulerDiscreteScheduler(config);
            case EULER_KARRAS -> new EulerDiscreteScheduler(karras);
            case EULER_A -> new EulerAncestralDiscreteScheduler(config);
            case DDIM -> new DDIMScheduler(config);
            case DDPM -> new DDPMScheduler(config);
            case DPMPP_2M -> new DPMSolverMultistepScheduler(config);
            case DPMPP_2M_KARRAS -> new DPMSolverMultistepScheduler(karras);
            case DPMPP_2M_SDE -> new DPMSolverMultistepScheduler(config.with("algorithm_type", "sde-dpmsolver++"));
            case DPMPP_2M_SDE_KARRAS ->
                    new DPMSolverMultistepScheduler(karras.with("algorithm_type", "sde-dpmsolver++"));
            case DPMPP_2S -> new DPMSolverSinglestepScheduler(config);
            case UNIPC -> new UniPCMultistepScheduler(config);
            case HEUN -> new HeunDiscreteScheduler(config);
            case HEUN_KARRAS -> new HeunDiscreteScheduler(karras);
            case LMS -> new LMSDiscreteScheduler(config);
            case LMS_KARRAS -> new LMSDiscreteScheduler(karras);
            case KDPM2 -> new KDPM2DiscreteScheduler(config);
            case KDPM2_KARRAS -> new KDPM2DiscreteScheduler(karras);
            case KDPM2_A -> new KDPM2AncestralDiscreteScheduler(config);
            case KDPM2_A_KARRAS -> new KDPM2AncestralDiscreteScheduler(karras);
            case LCM -> new LCMScheduler(config);
            case PNDM -> new PNDMScheduler(config);
        };
    }

    /** The timestep spacing of a config ({@code timestep_spacing}), {@code fallback} when absent. */
    static TimestepSpacing spacing(SchedulerConfig config, String scheduler, String fallback) {
        String value = config.getString("timestep_spacing", fallback);
        config.requireOneOf(scheduler, "timestep_spacing", value, "linspace", "leading", "trailing");
        return TimestepSpacing.valueOf(value.toUpperCase(Locale.ROOT));
    }
}
