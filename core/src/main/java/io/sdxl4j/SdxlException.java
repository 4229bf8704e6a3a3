// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

/**
 * A failure of sdxl4j that is not a bad argument: a model folder that is not an SDXL export, an
 * ONNX file that does not load, an engine error. The message names the component and file.
 */
public class SdxlException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public SdxlException(String message) {
        super(message);
    }

    public SdxlException(String message, Throwable cause) {
        super(message, cause);
    }
}
