// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sdxl4j.SdxlException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The contents of a {@code scheduler_config.json}, read as diffusers' {@code from_config} reads
 * it: any scheduler can be built from any scheduler's config; a key a scheduler does not know is
 * ignored, a missing key takes that scheduler's default (each scheduler passes its own default to
 * the getters). Immutable; {@link #with} makes a modified copy (as {@code from_config(config,
 * use_karras_sigmas=True)} does).
 */
public final class SchedulerConfig {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Object> values;
    private final String source;

    private SchedulerConfig(Map<String, Object> values, String source) {
        this.values = Collections.unmodifiableMap(values);
        this.source = source;
    }

    /** Reads a {@code scheduler_config.json}. */
    public static SchedulerConfig read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new SdxlException(file + ": invalid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            String problem = Files.exists(file) ? ": cannot read: " + e.getMessage() : ": file not found";
            throw new SdxlException(file + problem, e);
        }
        if (root == null || !root.isObject()) {
            throw new SdxlException(file + ": expected a JSON object");
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            values.put(e.getKey(), toJava(e.getValue()));
        }
        return new SchedulerConfig(values, file.getFileName() == null ? file.toString() : parentAndName(file));
    }

    /** A config from key/value pairs (values: String, Number, Boolean, List, or null). */
    public static SchedulerConfig of(Map<String, ?> values) {
        return new SchedulerConfig(new LinkedHashMap<>(values), "scheduler config");
    }

    /**
     * SDXL base 1.0's shipped {@code scheduler_config.json} (EulerDiscreteScheduler, scaled_linear,
     * leading, steps_offset 1), for model folders that lack one.
     */
    public static SchedulerConfig sdxlDefault() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("_class_name", "EulerDiscreteScheduler");
        v.put("beta_end", 0.012);
        v.put("beta_schedule", "scaled_linear");
        v.put("beta_start", 0.00085);
        v.put("clip_sample", false);
        v.put("interpolation_type", "linear");
        v.put("num_train_timesteps", 1000);
        v.put("prediction_type", "epsilon");
        v.put("sample_max_value", 1.0);
        v.put("set_alpha_to_one", false);
        v.put("skip_prk_steps", true);
        v.put("steps_offset", 1);
        v.put("timestep_spacing", "leading");
        v.put("use_karras_sigmas", false);
        return new SchedulerConfig(v, "SDXL default scheduler config");
    }

    /** A copy with one key set. */
    public SchedulerConfig with(String key, Object value) {
        Map<String, Object> copy = new LinkedHashMap<>(values);
        copy.put(key, value);
        return new SchedulerConfig(copy, source);
    }

    /** The {@code _class_name} the config was saved from, if any. */
    public Optional<String> className() {
        Object v = values.get("_class_name");
        return v instanceof String s ? Optional.of(s) : Optional.empty();
    }

    /** Where the config came from, for messages. */
    public String source() {
        return source;
    }

    public boolean has(String key) {
        return values.get(key) != null;
    }

    public Map<String, Object> asMap() {
        return values;
    }

    public String getString(String key, String fallback) {
        Object v = values.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof String s)) {
            throw invalid(key, v, "a string");
        }
        return s;
    }

    public double getDouble(String key, double fallback) {
        Object v = values.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof Number n)) {
            throw invalid(key, v, "a number");
        }
        return n.doubleValue();
    }

    /** A number that may be absent (diffusers' {@code Optional[float]} options such as sigma_min). */
    public Optional<Double> getOptionalDouble(String key) {
        return has(key) ? Optional.of(getDouble(key, 0)) : Optional.empty();
    }

    public int getInt(String key, int fallback) {
        Object v = values.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
            throw invalid(key, v, "an integer");
        }
        return n.intValue();
    }

    public boolean getBoolean(String key, boolean fallback) {
        Object v = values.get(key);
        if (v == null) {
            return fallback;
        }
        if (!(v instanceof Boolean b)) {
            throw invalid(key, v, "true or false");
        }
        return b;
    }

    /** A list of numbers (for {@code trained_betas}), or null when absent. */
    public double[] getDoubles(String key) {
        Object v = values.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof List<?> list)) {
            throw invalid(key, v, "a list of numbers");
        }
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Number n)) {
                throw invalid(key, v, "a list of numbers");
            }
            out[i] = n.doubleValue();
        }
        return out;
    }

    /**
     * Fails when an option is set to a value the scheduler does not implement, naming the option,
     * so that a config sdxl4j cannot honour never silently changes the image.
     */
    public void requireOneOf(String scheduler, String key, String value, String... supported) {
        for (String s : supported) {
            if (s.equals(value)) {
                return;
            }
        }
        throw new SdxlException(source + ": " + scheduler + " does not support " + key + "=" + value
                + "; supported: " + String.join(", ", supported));
    }

    /** Fails when a boolean option that the scheduler does not implement is true. */
    public void requireFalse(String scheduler, String key) {
        if (getBoolean(key, false)) {
            throw new SdxlException(source + ": " + scheduler + " does not support " + key + "=true");
        }
    }

    private SdxlException invalid(String key, Object v, String expected) {
        return new SdxlException(source + ": " + key + " is " + v + ", expected " + expected);
    }

    private static Object toJava(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        if (n.isIntegralNumber()) {
            return n.longValue();
        }
        if (n.isNumber()) {
            return n.doubleValue();
        }
        if (n.isTextual()) {
            return n.textValue();
        }
        if (n.isArray()) {
            List<Object> list = new ArrayList<>();
            n.forEach(e -> list.add(toJava(e)));
            return Collections.unmodifiableList(list);
        }
        return n.toString();
    }

    private static String parentAndName(Path file) {
        Path parent = file.getParent();
        return parent != null && parent.getFileName() != null
                ? parent.getFileName() + "/" + file.getFileName() : file.getFileName().toString();
    }

    @Override
    public String toString() {
        return "SchedulerConfig" + values;
    }
}
