// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

/** What an SDXL export is for. */
public enum ModelKind {
    /** The base model: both text encoders, 6 time ids. */
    BASE,
    /** The refiner: {@code text_encoder_2} only, 5 time ids with an aesthetic score. */
    REFINER
}
