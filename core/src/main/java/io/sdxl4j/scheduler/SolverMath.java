// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

/**
 * Arithmetic shared by DPM-Solver and UniPC, which integrate in log-SNR λ = log(α/σ) with the
 * variance-preserving α = 1/sqrt(σ²+1), σ_t = σ·α of the σ schedule (Lu et al. 2022).
 */
final class SolverMath {

    private SolverMath() {
    }

    static double alpha(double sigma) {
        return 1 / Math.sqrt(sigma * sigma + 1);
    }

    static double sigmaT(double sigma) {
        return sigma * alpha(sigma);
    }

    /** λ = log α − log σ_t (+∞ at σ = 0, which makes the final step land on x̂₀). */
    static double lambda(double sigma) {
        return Math.log(alpha(sigma)) - Math.log(sigmaT(sigma));
    }

    /**
     * The last training timestep kept by {@code lambda_min_clipped}: T minus the number of training
     * steps whose λ is below the clip (diffusers' {@code searchsorted} on the flipped λ).
     */
    static int lastTimestep(TrainingSchedule train, double lambdaMinClipped) {
        int below = 0;
        for (float a : train.alphasCumprod) {
            float lambda = (float) (Math.log(Math.sqrt(a)) - Math.log(Math.sqrt(1f - a)));
            if (lambda < lambdaMinClipped) {
                below++;
            }
        }
        return train.numTrainTimesteps - below;
    }

    /**
     * Solves the n×n system A·x = b (top-left block of {@code a}) by Gaussian elimination with
     * partial pivoting, into {@code x}; {@code work} holds at least n rows of n + 1.
     */
    static void solve(double[][] a, double[] b, int n, double[] x, double[][] work) {
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[i], 0, work[i], 0, n);
            work[i][n] = b[i];
        }
        for (int c = 0; c < n; c++) {
            int pivot = c;
            for (int r = c + 1; r < n; r++) {
                if (Math.abs(work[r][c]) > Math.abs(work[pivot][c])) {
                    pivot = r;
                }
            }
            double[] tmp = work[c];
            work[c] = work[pivot];
            work[pivot] = tmp;
            for (int r = c + 1; r < n; r++) {
                double f = work[r][c] / work[c][c];
                for (int k = c; k <= n; k++) {
                    work[r][k] -= f * work[c][k];
                }
            }
        }
        for (int r = n - 1; r >= 0; r--) {
            double s = work[r][n];
            for (int k = r + 1; k < n; k++) {
                s -= work[r][k] * x[k];
            }
            x[r] = s / work[r][r];
        }
    }
}
