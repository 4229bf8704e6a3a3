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
 * short names, the hosted SDXL APIs' names, and the sampler names A1111 writes into PNG metadata.
 * Matching ignores case, spaces, dashes and underscores.
 */
public enum SchedulerType {
    /** diffusers' EulerDiscreteScheduler (SDXL base's default). */
    EULER(EulerDiscreteScheduler.NAME, "Euler", "euler", List.of("k_euler", "euler_discrete"),
            EulerDiscreteScheduler::new, UnaryOperator.identity());

    private static final Map<String, SchedulerType> BY_NAME = index();

    private final String className;
    private final String samplerName;
    private final String shortName;
    private final List<String> aliases;
    private final Function<SchedulerConfig, Scheduler> factory;
    private final UnaryOperator<SchedulerConfig> configOverride;

    SchedulerType(String className, String samplerName, String shortName, List<String> aliases,
                  Function<SchedulerConfig, Scheduler> factory, UnaryOperator<SchedulerConfig> configOverride) {
        this.className = className;
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
        names.add(className);
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
