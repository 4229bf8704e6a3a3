// SPDX-License-Identifier: Apache-2.0

/**
 * The conformance harness: {@link io.sdxl4j.conformance.ConformanceSuite} reads {@code cases.json},
 * {@link io.sdxl4j.conformance.ConformanceRunner} runs a case from its seed alone and reports the
 * contract line {@code PASS|FAIL|SKIP id …}.
 */
package io.sdxl4j.conformance;
