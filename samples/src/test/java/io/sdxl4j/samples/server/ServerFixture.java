// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import io.sdxl4j.PipelineOptions;

/** What the server tests share: the pipeline options {@code serve} uses, a fixed memory budget. */
final class ServerFixture {

    /**
     * The budget the test servers run with, fixed so that what is refused does not depend on the
     * machine: 3 GiB admits the tiny model up to 192×192 and refuses 256×256 (about 5 GB estimated).
     */
    static final long BUDGET = 3L << 30;

    private ServerFixture() {
    }

    /** {@code serve}'s defaults: engine javacpp with ONNX Runtime's arena shrinkage. */
    static PipelineOptions options() {
        return Sdxl4jServer.servingOptions(PipelineOptions.builder().engine("javacpp").build());
    }
}
