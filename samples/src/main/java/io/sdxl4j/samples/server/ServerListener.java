// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

/**
 * What the server's generations do, for monitoring (and for tests, which drive their timing by
 * these events instead of sleeping). Called on the generator thread: keep it short.
 */
public interface ServerListener {

    /** No events. */
    ServerListener NONE = new ServerListener() {
    };

    /** A generation of request {@code requestId} finished a denoising step. */
    default void onStep(String requestId, int step, int total) {
    }

    /**
     * A generation ended (or was refused or cancelled before it started).
     *
     * @param outcome {@code success}, {@code cancelled}, {@code timeout}, {@code bad_request}, {@code error}
     */
    default void onFinish(String requestId, String outcome) {
    }
}
