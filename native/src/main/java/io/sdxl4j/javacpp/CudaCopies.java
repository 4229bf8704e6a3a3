// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.SdxlException;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.cuda.global.cudart;

/**
 * Host/device copies through the CUDA runtime (the JavaCPP CUDA preset). Loaded only by bindings
 * that have device twins, so CPU users need none of CUDA's natives.
 */
final class CudaCopies {

    private CudaCopies() {
    }

    static void toDevice(Pointer device, Pointer host, long bytes) {
        check(cudart.cudaMemcpy(device, host, bytes, cudart.cudaMemcpyHostToDevice), "host to device", bytes);
    }

    static void toHost(Pointer host, Pointer device, long bytes) {
        check(cudart.cudaMemcpy(host, device, bytes, cudart.cudaMemcpyDeviceToHost), "device to host", bytes);
    }

    /**
     * Waits for the copies: a copy from pageable host memory may return before its DMA ends, and
     * ONNX Runtime's CUDA stream does not wait for the default stream.
     */
    static void synchronize() {
        check(cudart.cudaDeviceSynchronize(), "synchronization", 0);
    }

    private static void check(int status, String what, long bytes) {
        if (status != cudart.cudaSuccess) {
            throw new SdxlException("CUDA copy " + what + " of " + bytes + " bytes failed: "
                    + cudart.cudaGetErrorString(status).getString());
        }
    }
}
