// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.model;

import io.sdxl4j.onnx.Onnx;
import java.util.Optional;

/**
 * A rewrite of an export's graph, held in memory and applied when its session opens (the export's
 * files never change): sizing the UNet's upsamplers from their skips, and the performance rewrites
 * the options ask for. A rewrite must keep the graph's inputs, outputs and meaning; one that finds
 * nothing to change returns empty.
 */
public interface GraphRewrite {

    /** The rewrite's name, for caches (an optimized graph is keyed by the rewrites made to it) and logs. */
    String tag();

    /** The rewritten model, or empty when nothing in it fits the rewrite. */
    Optional<Onnx.ModelProto> apply(Onnx.ModelProto model);
}
