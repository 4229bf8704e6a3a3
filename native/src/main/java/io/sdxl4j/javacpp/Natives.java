// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.tensor.DataType;
import java.util.List;
import org.bytedeco.onnxruntime.global.onnxruntime;

/** What the engine's classes share about native handles and ONNX element types. */
final class Natives {

    private Natives() {
    }

    /** Closes handles in reverse order of creation; each deletes its C++ object once. */
    static void closeAll(List<? extends AutoCloseable> handles) {
        for (int i = handles.size() - 1; i >= 0; i--) {
            try {
                handles.get(i).close();
            } catch (Exception ignored) {
                // Releasing after a failure or at close: the first error, if any, is already on its way.
            }
        }
        handles.clear();
    }

    /** The ONNX element type of a data type. */
    static int elementType(DataType t) {
        return switch (t) {
            case FLOAT32 -> onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
            case FLOAT16 -> onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
            case INT64 -> onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
            case INT32 -> onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
        };
    }

    /** The data type of an ONNX element type, or null for one sdxl4j does not handle. */
    static DataType dataType(int elementType) {
        if (elementType == onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
            return DataType.FLOAT32;
        } else if (elementType == onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) {
            return DataType.FLOAT16;
        } else if (elementType == onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
            return DataType.INT64;
        } else if (elementType == onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) {
            return DataType.INT32;
        }
        return null;
    }
}
