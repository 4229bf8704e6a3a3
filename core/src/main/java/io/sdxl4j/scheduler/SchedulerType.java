// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.UnaryOperator;

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
    EULER(EulerDiscreteScheduler.NAME, true, "Euler", "euler", List.of("k_euler", "euler_discrete"),
            EulerDiscreteScheduler::new, UnaryOperator.identity()),
    /** Euler on Karras sigmas. */
    EULER_KARRAS(EulerDiscreteScheduler.NAME, false, "Euler Karras", "euler_karras", List.of("k_euler_karras"),
            EulerDiscreteScheduler::new, karras()),
    /** "Euler a": EulerAncestralDiscreteScheduler; K_EULER_ANCESTRAL. */
    EULER_A(EulerAncestralDiscreteScheduler.NAME, true, "Euler a", "euler_a",
            List.of("k_euler_ancestral", "euler_ancestral", "euler_ancestral_discrete"),
            EulerAncestralDiscreteScheduler::new, UnaryOperator.identity()),
    /** DDIMScheduler. */
    DDIM(DDIMScheduler.NAME, true, "DDIM", "ddim", List.of(), DDIMScheduler::new, UnaryOperator.identity()),
    /** DDPMScheduler. */
    DDPM(DDPMScheduler.NAME, true, "DDPM", "ddpm", List.of(), DDPMScheduler::new, UnaryOperator.identity()),
    /** "DPM++ 2M": DPMSolverMultistepScheduler (dpmsolver++, order 2); hosted APIs' DPMSolverMultistep. */
    DPMPP_2M(DPMSolverMultistepScheduler.NAME, true, "DPM++ 2M", "dpmpp_2m",
            List.of("dpmsolvermultistep", "dpm_solver_multistep", "k_dpmpp_2m"),
            DPMSolverMultistepScheduler::new, UnaryOperator.identity()),
    /** "DPM++ 2M Karras": DPM++ 2M on Karras sigmas; hosted APIs' KarrasDPM. */
    DPMPP_2M_KARRAS(DPMSolverMultistepScheduler.NAME, false, "DPM++ 2M Karras", "dpmpp_2m_karras",
            List.of("karrasdpm", "k_dpmpp_2m_karras"), DPMSolverMultistepScheduler::new, karras()),
    /** "DPM++ 2M SDE": DPMSolverMultistepScheduler with sde-dpmsolver++ (stochastic). */
    DPMPP_2M_SDE(DPMSolverMultistepScheduler.NAME, false, "DPM++ 2M SDE", "dpmpp_2m_sde",
            List.of("k_dpmpp_2m_sde"), DPMSolverMultistepScheduler::new,
            c -> c.with("algorithm_type", "sde-dpmsolver++")),
    /** "DPM++ 2M SDE Karras". */
    DPMPP_2M_SDE_KARRAS(DPMSolverMultistepScheduler.NAME, false, "DPM++ 2M SDE Karras", "dpmpp_2m_sde_karras",
            List.of("k_dpmpp_2m_sde_karras"), DPMSolverMultistepScheduler::new,
            c -> c.with("algorithm_type", "sde-dpmsolver++").with("use_karras_sigmas", true)),
    /** "DPM++ 2S": DPMSolverSinglestepScheduler. */
    DPMPP_2S(DPMSolverSinglestepScheduler.NAME, true, "DPM++ 2S", "dpmpp_2s",
            List.of("dpmsolversinglestep", "dpm_solver_singlestep"),
            DPMSolverSinglestepScheduler::new, UnaryOperator.identity()),
    /** UniPCMultistepScheduler (bh2, order 2); hosted APIs' UniPC. */
    UNIPC(UniPCMultistepScheduler.NAME, true, "UniPC", "unipc", List.of("unipc_multistep"),
            UniPCMultistepScheduler::new, UnaryOperator.identity()),
    /** HeunDiscreteScheduler; hosted APIs' HeunDiscrete. */
    HEUN(HeunDiscreteScheduler.NAME, true, "Heun", "heun", List.of("heundiscrete", "k_heun"),
            HeunDiscreteScheduler::new, UnaryOperator.identity()),
    /** Heun on Karras sigmas. */
    HEUN_KARRAS(HeunDiscreteScheduler.NAME, false, "Heun Karras", "heun_karras", List.of("k_heun_karras"),
            HeunDiscreteScheduler::new, karras()),
    /** LMSDiscreteScheduler. */
    LMS(LMSDiscreteScheduler.NAME, true, "LMS", "lms", List.of("k_lms", "lms_discrete"),
            LMSDiscreteScheduler::new, UnaryOperator.identity()),
    /** LMS on Karras sigmas. */
    LMS_KARRAS(LMSDiscreteScheduler.NAME, false, "LMS Karras", "lms_karras", List.of("k_lms_karras"),
            LMSDiscreteScheduler::new, karras()),
    /** "DPM2": KDPM2DiscreteScheduler. */
    KDPM2(KDPM2DiscreteScheduler.NAME, true, "DPM2", "kdpm2", List.of("k_dpm_2", "dpm_2"),
            KDPM2DiscreteScheduler::new, UnaryOperator.identity()),
    /** "DPM2 Karras". */
    KDPM2_KARRAS(KDPM2DiscreteScheduler.NAME, false, "DPM2 Karras", "kdpm2_karras",
            List.of("k_dpm_2_karras", "dpm_2_karras"), KDPM2DiscreteScheduler::new, karras()),
    /** "DPM2 a": KDPM2AncestralDiscreteScheduler. */
    KDPM2_A(KDPM2AncestralDiscreteScheduler.NAME, true, "DPM2 a", "kdpm2_a",
            List.of("k_dpm_2_ancestral", "dpm_2_a"), KDPM2AncestralDiscreteScheduler::new, UnaryOperator.identity()),
    /** "DPM2 a Karras". */
    KDPM2_A_KARRAS(KDPM2AncestralDiscreteScheduler.NAME, false, "DPM2 a Karras", "kdpm2_a_karras",
            List.of("k_dpm_2_ancestral_karras", "dpm_2_a_karras"), KDPM2AncestralDiscreteScheduler::new, karras()),
    /** LCMScheduler, for latent consistency models (LCM-LoRA, LCM-distilled UNets). */
    LCM(LCMScheduler.NAME, true, "LCM", "lcm", List.of(), LCMScheduler::new, UnaryOperator.identity()),
    /** "PLMS": PNDMScheduler; hosted APIs' PNDM. */
    PNDM(PNDMScheduler.NAME, true, "PLMS", "pndm", List.of(), PNDMScheduler::new, UnaryOperator.identity());

    private static final Map<String, SchedulerType> BY_NAME = index();

    private final String className;
    private final boolean plain;
    private final String samplerName;
    private final String shortName;
    private final List<String> aliases;
    private final Function<SchedulerConfig, Scheduler> factory;
    private final UnaryOperator<SchedulerConfig> configOverride;

    SchedulerType(String className, boolean plain, String samplerName, String shortName, List<String> aliases,
                  Function<SchedulerConfig, Scheduler> factory, UnaryOperator<SchedulerConfig> configOverride) {
        this.className = className;
        this.plain = plain;
        this.samplerName = samplerName;
        this.shortName = shortName;
        this.aliases = aliases;
        this.factory = factory;
        this.configOverride = configOverride;
    }

    /** diffusers' class name. */
    public String className() {
        return className;
    }

    private static UnaryOperator<SchedulerConfig> karras() {
        return c -> c.with("use_karras_sigmas", true);
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

    /**
     * Builds the scheduler from a model's config, as diffusers' {@code from_config} does (with this
     * type's overrides, e.g. {@code use_karras_sigmas} for a Karras variant).
     */
    public Scheduler create(SchedulerConfig config) {
        return factory.apply(configOverride.apply(config));
    }

    /** The type for a name, if any. */
    public static Optional<SchedulerType> find(String name) {
        return name == null ? Optional.empty() : Optional.ofNullable(BY_NAME.get(normalize(name)));
    }

    /**
     * The type for a name.
     *
     * @throws IllegalArgumentException naming the field {@code scheduler} and the known names
     */
    public static SchedulerType parse(String name) {
        return find(name).orElseThrow(() -> new IllegalArgumentException(
                "scheduler: '" + name + "' is not a known scheduler; known: " + knownNames()));
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
