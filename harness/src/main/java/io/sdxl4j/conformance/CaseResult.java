// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.conformance;

import java.util.Locale;

/**
 * The outcome of one case, printed as the conformance program's contract line:
 * {@code PASS id max_abs_err=… tol=…}, {@code FAIL id max_abs_err=… tol=… (detail)} or
 * {@code SKIP id (reason)}.
 */
public record CaseResult(Status status, String id, double maxAbsErr, double tolerance, String detail) {

    /** Outcomes. */
    public enum Status { PASS, FAIL, SKIP }

    static CaseResult skip(String id, String reason) {
        return new CaseResult(Status.SKIP, id, Double.NaN, Double.NaN, reason);
    }

    static CaseResult fail(String id, String reason) {
        return new CaseResult(Status.FAIL, id, Double.NaN, Double.NaN, reason);
    }

    /** The line the conformance program prints. */
    public String line() {
        return switch (status) {
            case SKIP -> "SKIP " + id + " (" + detail + ")";
            case PASS -> String.format(Locale.ROOT, "PASS %s max_abs_err=%.3g tol=%s", id, maxAbsErr, tolerance);
            case FAIL -> Double.isNaN(maxAbsErr) ? "FAIL " + id + " (" + detail + ")"
                    : String.format(Locale.ROOT, "FAIL %s max_abs_err=%.3g tol=%s%s", id, maxAbsErr, tolerance,
                    detail == null || detail.isEmpty() ? "" : " (" + detail + ")");
        };
    }
}
