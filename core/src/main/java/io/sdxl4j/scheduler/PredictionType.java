// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

/** What the model predicts ({@code prediction_type}). */
public enum PredictionType {
    /** The added noise ε (SDXL base and refiner). */
    EPSILON,
    /** The velocity v = α·ε - σ·x₀ (Salimans and Ho 2022). */
    V_PREDICTION,
    /** The clean sample x₀ itself. */
    SAMPLE;

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
