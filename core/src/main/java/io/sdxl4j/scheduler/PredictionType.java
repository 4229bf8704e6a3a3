// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

/** What the model predicts ({@code prediction_type}). */
enum PredictionType {
    /** The added noise ε (SDXL base and refiner). */
    EPSILON,
    /** The velocity v = α·ε - σ·x₀ (Salimans and Ho 2022). */
    V_PREDICTION,
    /** The clean sample x₀ itself. */
    SAMPLE;

    /** The config's prediction type, refusing {@code sample} for the schedulers diffusers refuses it for. */
    static PredictionType fromConfigWithoutSample(SchedulerConfig config, String scheduler) {
        PredictionType type = fromConfig(config, scheduler);
        if (type == SAMPLE) {
            throw new io.sdxl4j.SdxlException(config.source() + ": " + scheduler + " does not support"
                    + " prediction_type=sample (diffusers does not implement it either)");
        }
        return type;
    }

    static PredictionType fromConfig(SchedulerConfig config, String scheduler) {
        String value = config.getString("prediction_type", "epsilon");
        config.requireOneOf(scheduler, "prediction_type", value, "epsilon", "v_prediction", "sample",
                "original_sample");
        return switch (value) {
            case "epsilon" -> EPSILON;
            case "v_prediction" -> V_PREDICTION;
            default -> SAMPLE;
        };
    }
}
