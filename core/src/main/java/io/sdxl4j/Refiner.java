// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import java.util.Objects;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * How the SDXL refiner runs after the base (load the pipeline with a refiner folder): as an
 * {@link Ensemble} of expert denoisers, or as a {@link SecondPass} of img2img over the base's
 * result. A request without a refiner runs the base alone.
 */
public sealed interface Refiner {

    /** The ensemble with the default hand-over point 0.8. */
    static Ensemble ensemble() {
        return new Ensemble(Ensemble.DEFAULT_HIGH_NOISE_FRACTION, OptionalLong.empty(), AestheticScore.DEFAULT);
    }

    /** The second pass with the default strength 0.3, the base's steps and seed. */
    static SecondPass secondPass() {
        return new SecondPass(SecondPass.DEFAULT_STRENGTH, OptionalInt.empty(), OptionalLong.empty(),
                AestheticScore.DEFAULT);
    }

    /** The seed of the refiner's own generator; empty: the request's seed. */
    OptionalLong seed();

    /** The refiner's aesthetic-score conditioning. */
    AestheticScore aestheticScore();

    /**
     * SDXL's refiner time ids carry an aesthetic score in place of the target size (Podell et al.
     * 2023, §2.5): diffusers' {@code aesthetic_score} for the conditional rows and
     * {@code negative_aesthetic_score} for the unconditional ones.
     *
     * @param positive default 6.0
     * @param negative default 2.5
     */
    record AestheticScore(double positive, double negative) {
        /** diffusers' defaults, 6.0 and 2.5. */
        public static final AestheticScore DEFAULT = new AestheticScore(6.0, 2.5);

        /**
         * @throws InvalidRequestException for the field {@code refiner.aestheticScore} when not finite
         */
        public AestheticScore {
            if (!Double.isFinite(positive) || !Double.isFinite(negative)) {
                throw new InvalidRequestException("refiner.aestheticScore", positive + "/" + negative, "is not finite");
            }
        }
    }

    /**
     * Ensemble of expert denoisers (Podell et al. 2023, §2.5; the hosted APIs'
     * {@code expert_ensemble_refiner}): the base denoises the high-noise part of the schedule, to
     * diffusers' {@code denoising_end = highNoiseFraction}, and the refiner continues on the same
     * latents from {@code denoising_start = highNoiseFraction}, with the request's steps.
     *
     * @param highNoiseFraction where the base hands over, in (0, 1). Default 0.8
     * @param seed              the refiner's generator seed; empty: the request's
     * @param aestheticScore    the refiner's aesthetic conditioning
     */
    record Ensemble(double highNoiseFraction, OptionalLong seed, AestheticScore aestheticScore) implements Refiner {
        /** The default hand-over point. */
        public static final double DEFAULT_HIGH_NOISE_FRACTION = 0.8;

        /**
         * @throws InvalidRequestException for {@code refiner.highNoiseFraction} outside (0, 1)
         */
        public Ensemble {
            if (!(highNoiseFraction > 0 && highNoiseFraction < 1)) {
                throw new InvalidRequestException("refiner.highNoiseFraction", highNoiseFraction, "is outside (0, 1)");
            }
            Objects.requireNonNull(seed, "seed");
            Objects.requireNonNull(aestheticScore, "aestheticScore");
        }

        public Ensemble withHighNoiseFraction(double value) {
            return new Ensemble(value, seed, aestheticScore);
        }

        public Ensemble withSeed(long value) {
            return new Ensemble(highNoiseFraction, OptionalLong.of(value), aestheticScore);
        }

        public Ensemble withAestheticScore(double positive, double negative) {
            return new Ensemble(highNoiseFraction, seed, new AestheticScore(positive, negative));
        }
    }

    /**
     * The base runs to the end, then the refiner runs img2img on its latents (the hosted APIs'
     * {@code base_image_refiner}).
     *
     * @param strength       the refiner's img2img strength, in (0, 1]. Default 0.3
     * @param steps          the refiner's steps, 1 to {@link GenerationRequest#MAX_STEPS}; empty: the request's
     * @param seed           the refiner's generator seed; empty: the request's
     * @param aestheticScore the refiner's aesthetic conditioning
     */
    record SecondPass(double strength, OptionalInt steps, OptionalLong seed, AestheticScore aestheticScore)
            implements Refiner {
        /** The default strength. */
        public static final double DEFAULT_STRENGTH = 0.3;

        /**
         * @throws InvalidRequestException for {@code refiner.strength} outside (0, 1], {@code refiner.steps}
         *                                 outside [1, 1000]
         */
        public SecondPass {
            if (!(strength > 0 && strength <= 1)) {
                throw new InvalidRequestException("refiner.strength", strength, "is outside (0, 1]");
            }
            Objects.requireNonNull(steps, "steps");
            if (steps.isPresent() && (steps.getAsInt() < 1 || steps.getAsInt() > GenerationRequest.MAX_STEPS)) {
                throw new InvalidRequestException("refiner.steps", steps.getAsInt(), "is outside [1, "
                        + GenerationRequest.MAX_STEPS + "]");
            }
            Objects.requireNonNull(seed, "seed");
            Objects.requireNonNull(aestheticScore, "aestheticScore");
        }

        public SecondPass withStrength(double value) {
            return new SecondPass(value, steps, seed, aestheticScore);
        }

        public SecondPass withSteps(int value) {
            return new SecondPass(strength, OptionalInt.of(value), seed, aestheticScore);
        }

        public SecondPass withSeed(long value) {
            return new SecondPass(strength, steps, OptionalLong.of(value), aestheticScore);
        }

        public SecondPass withAestheticScore(double positive, double negative) {
            return new SecondPass(strength, steps, seed, new AestheticScore(positive, negative));
        }
    }
}
