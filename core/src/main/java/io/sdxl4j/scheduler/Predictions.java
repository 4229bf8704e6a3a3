// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

/**
 * The clean-sample estimate x̂₀ from a model output, as coefficients of
 * {@code x̂₀ = cx·sample + cm·output}, for each prediction type and the two ways diffusers
 * parameterises the noisy sample. Every scheduler's {@code pred_original_sample} is one of these.
 */
final class Predictions {

    private Predictions() {
    }

    /**
     * Variance-exploding σ parameterisation (the k-diffusion samplers), sample = x₀ + σ·ε:
     * ε: x̂₀ = x − σ·m; v: x̂₀ = x/(σ²+1) − σ/sqrt(σ²+1)·m; sample: x̂₀ = m.
     */
    static void x0FromSigma(PredictionType type, double sigma, double[] coefficients) {
        switch (type) {
            case EPSILON -> set(coefficients, 1, -sigma);
            case V_PREDICTION -> set(coefficients, 1 / (sigma * sigma + 1), -sigma / Math.sqrt(sigma * sigma + 1));
            case SAMPLE -> set(coefficients, 0, 1);
        }
    }

    /**
     * Variance-preserving parameterisation, sample = α·x₀ + σ·ε (ᾱ-based schedulers with α = sqrt(ᾱ),
     * σ = sqrt(1 − ᾱ); DPM-Solver and UniPC with α = 1/sqrt(σ²+1)): ε: x̂₀ = (x − σ·m)/α;
     * v: x̂₀ = α·x − σ·m; sample: x̂₀ = m.
     */
    static void x0FromAlpha(PredictionType type, double alpha, double sigma, double[] coefficients) {
        switch (type) {
            case EPSILON -> set(coefficients, 1 / alpha, -sigma / alpha);
            case V_PREDICTION -> set(coefficients, alpha, -sigma);
            case SAMPLE -> set(coefficients, 0, 1);
        }
    }

    /** The noise estimate ε̂ in the variance-preserving parameterisation (DDIM's {@code pred_epsilon}). */
    static void epsilonFromAlpha(PredictionType type, double alpha, double sigma, double[] coefficients) {
        switch (type) {
            case EPSILON -> set(coefficients, 0, 1);
            case V_PREDICTION -> set(coefficients, sigma, alpha);
            case SAMPLE -> set(coefficients, 1 / sigma, -alpha / sigma);
        }
    }

    private static void set(double[] c, double x, double m) {
        c[0] = x;
        c[1] = m;
    }
}
