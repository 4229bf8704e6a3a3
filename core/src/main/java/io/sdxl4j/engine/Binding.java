// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.engine;

/** A session bound to fixed input and output tensors; see {@link EngineSession#bind}. */
public interface Binding extends AutoCloseable {

    /** Runs the model on the inputs' current contents, writing the outputs in place. */
    void run();

    /** Releases the engine's handles on the tensors (not the tensors); may be called twice. */
    @Override
    void close();
}
