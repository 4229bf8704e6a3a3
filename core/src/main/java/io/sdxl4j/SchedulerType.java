// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The schedulers sdxl4j implements, by every name users know them by: diffusers' class names,
 * short names ({@code dpmpp_2m_karras}), the hosted SDXL APIs' names ({@code K_EULER},
 * {@code KarrasDPM}), and the sampler names A1111 writes into PNG metadata ({@code DPM++ 2M
 * Karras}). Matching ignores case, spaces, dashes and underscores. A type is a diffusers class plus
 * the config overrides of its variant (Karras sigmas, SDE), applied on top of the model's
 * {@code scheduler_config.json} as {@code from_config(config, **overrides)} does.
 */
public enum SchedulerType {
    /** diffusers' EulerDiscreteScheduler (SDXL base's default); hosted APIs' K_EULER. */
    EULER("EulerDiscreteScheduler", true, "Euler", "euler", List.of("k_euler", "euler_discrete")),
    /** Euler on Karras sigmas. */
    EULER_KARRAS("EulerDiscreteScheduler", false, "Euler Karras", "euler_karras", List.of("k_euler_karras")),
    /** "Euler a": EulerAncestralDiscreteScheduler; K_EULER_ANCESTRAL. */
    EULER_A("EulerAncestralDiscreteScheduler", true, "Euler a", "euler_a",
            List.of("k_euler_ancestral", "euler_ancestral", "euler_ancestral_discrete")),
    /** DDIMScheduler. */
    DDIM("DDIMScheduler", true, "DDIM", "ddim", List.of()),
    /** DDPMScheduler. */
    DDPM("DDPMScheduler", true, "DDPM", "ddpm", List.of()),
    /** "DPM++ 2M": DPMSolverMultistepScheduler (dpmsolver++, order 2); hosted APIs' DPMSolverMultistep. */
    DPMPP_2M("DPMSolverMultistepScheduler", true, "DPM++ 2M", "dpmpp_2m",
            List.of("dpmsolvermultistep", "dpm_solver_multistep", "k_dpmpp_2m")),
    /** "DPM++ 2M Karras": DPM++ 2M on Karras sigmas; hosted APIs' KarrasDPM. */
    DPMPP_2M_KARRAS("DPMSolverMultistepScheduler", false, "DPM++ 2M Karras", "dpmpp_2m_karras",
            List.of("karrasdpm", "k_dpmpp_2m_karras")),
    /** "DPM++ 2M SDE": DPMSolverMultistepScheduler with sde-dpmsolver++ (stochastic). */
    DPMPP_2M_SDE("DPMSolverMultistepScheduler", false, "DPM++ 2M SDE", "dpmpp_2m_sde",
            List.of("k_dpmpp_2m_sde")),
    /** "DPM++ 2M SDE Karras". */
    DPMPP_2M_SDE_KARRAS("DPMSolverMultistepScheduler", false, "DPM++ 2M SDE Karras", "dpmpp_2m_sde_karras",
            List.of("k_dpmpp_2m_sde_karras")),
    /** "DPM++ 2S": DPMSolverSinglestepScheduler. */
    DPMPP_2S("DPMSolverSinglestepScheduler", true, "DPM++ 2S", "dpmpp_2s",
            List.of("dpmsolversinglestep", "dpm_solver_singlestep")),
    /** UniPCMultistepScheduler (bh2, order 2); hosted APIs' UniPC. */
    UNIPC("UniPCMultistepScheduler", true, "UniPC", "unipc", List.of("unipc_multistep")),
    /** HeunDiscreteScheduler; hosted APIs' HeunDiscrete. */
    HEUN("HeunDiscreteScheduler", true, "Heun", "heun", List.of("heundiscrete", "k_heun")),
    /** Heun on Karras sigmas. */
    HEUN_KARRAS("HeunDiscreteScheduler", false, "Heun Karras", "heun_karras", List.of("k_heun_karras")),
    /** LMSDiscreteScheduler. */
    LMS("LMSDiscreteScheduler", true, "LMS", "lms", List.of("k_lms", "lms_discrete")),
    /** LMS on Karras sigmas. */
    LMS_KARRAS("LMSDiscreteScheduler", false, "LMS Karras", "lms_karras", List.of("k_lms_karras")),
    /** "DPM2": KDPM2DiscreteScheduler. */
    KDPM2("KDPM2DiscreteScheduler", true, "DPM2", "kdpm2", List.of("k_dpm_2", "dpm_2")),
    /** "DPM2 Karras". */
    KDPM2_KARRAS("KDPM2DiscreteScheduler", false, "DPM2 Karras", "kdpm2_karras",
            List.of("k_dpm_2_karras", "dpm_2_karras")),
    /** "DPM2 a": KDPM2AncestralDiscreteScheduler. */
    KDPM2_A("KDPM2AncestralDiscreteScheduler", true, "DPM2 a", "kdpm2_a",
            List.of("k_dpm_2_ancestral", "dpm_2_a")),
    /** "DPM2 a Karras". */
    KDPM2_A_KARRAS("KDPM2AncestralDiscreteScheduler", false, "DPM2 a Karras", "kdpm2_a_karras",
            List.of("k_dpm_2_ancestral_karras", "dpm_2_a_karras")),
    /** LCMScheduler, for latent consistency models (LCM-LoRA, LCM-distilled UNets). */
    LCM("LCMScheduler", true, "LCM", "lcm", List.of()),
    /** "PLMS": PNDMScheduler; hosted APIs' PNDM. */
    PNDM("PNDMScheduler", true, "PLMS", "pndm", List.of());

    private static final Map<String, SchedulerType> BY_NAME = index();

    private final String className;
    private final boolean plain;
    private final String samplerName;
    private final String shortName;
    private final List<String> aliases;

    SchedulerType(String className, boolean plain, String samplerName, String shortName, List<String> aliases) {
        this.className = className;
        this.plain = plain;
        this.samplerName = samplerName;
        this.shortName = shortName;
        this.aliases = aliases;
    }

    /** diffusers' class name. */
    public String className() {
        return className;
    }

    /** The sampler name A1111 writes ({@code Sampler: Euler}). */
    public String samplerName() {
        return samplerName;
    }

    /** The short name used by the CLI and the conformance cases ({@code euler}). */
    public String shortName() {
        return shortName;
    }

    /** Every accepted name. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        names.add(shortName);
        if (plain) {
            names.add(className); // only the plain variant answers to the class name
        }
        names.add(samplerName);
        names.addAll(aliases);
        return Collections.unmodifiableList(names);
    }

    /** The type for a name, if any. */
    public static Optional<SchedulerType> find(String name) {
        return name == null ? Optional.empty() : Optional.ofNullable(BY_NAME.get(normalize(name)));
    }

    /**
     * The type for a name.
     *
     * @throws InvalidRequestException for the field {@code scheduler}, listing the known names
     */
    public static SchedulerType parse(String name) {
        return find(name).orElseThrow(() -> new InvalidRequestException("scheduler", name,
                "is not a known scheduler; known: " + knownNames()));
    }

    /** The short names, for help texts. */
    public static String knownNames() {
        List<String> names = new ArrayList<>();
        for (SchedulerType t : values()) {
            names.add(t.shortName);
        }
        return String.join(", ", names);
    }

    private static String normalize(String name) {
        return name.strip().toLowerCase(Locale.ROOT).replace("++", "pp").replaceAll("[\\s_\\-]", "");
    }

    private static Map<String, SchedulerType> index() {
        Map<String, SchedulerType> map = new LinkedHashMap<>();
        for (SchedulerType t : values()) {
            for (String n : t.names()) {
                SchedulerType previous = map.put(normalize(n), t);
                if (previous != null && previous != t) {
                    throw new IllegalStateException("scheduler name " + n + " used by " + previous + " and " + t);
                }
            }
        }
        return Collections.unmodifiableMap(map);
    }
}
