// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.javacpp;

import io.sdxl4j.SdxlException;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Pointer;

/**
 * Raw copies between host memory and the memory ONNX Runtime allocates for a provider: plain
 * {@code memcpy} for the CPU, the CUDA runtime (JavaCPP's CUDA preset) for CUDA. The CUDA
 * implementation is loaded only where a CUDA provider is used, so CPU users need none of CUDA's
 * natives.
 */
interface DeviceMemory {

    /** Sets {@code bytes} bytes at {@code device} to zero. */
    void zero(Pointer device, long bytes);

    /** Host to device. */
    void upload(Pointer device, Pointer host, long bytes);

    /** Device to host. */
    void download(Pointer host, Pointer device, long bytes);

    /** Device to device. */
    void copy(Pointer dst, Pointer src, long bytes);

    /** ONNX Runtime's CPU memory. */
    DeviceMemory HOST = new DeviceMemory() {
        @Override
        public void zero(Pointer device, long bytes) {
            Pointer.memset(device, 0, bytes);
        }

        @Override
        public void upload(Pointer device, Pointer host, long bytes) {
            Pointer.memcpy(device, host, bytes);
        }

        @Override
        public void download(Pointer host, Pointer device, long bytes) {
            Pointer.memcpy(host, device, bytes);
        }

        @Override
        public void copy(Pointer dst, Pointer src, long bytes) {
            Pointer.memcpy(dst, src, bytes);
        }
    };

    /** The memory of CUDA device {@code deviceId} through {@code cudaMemcpy}. */
    static DeviceMemory cuda(int deviceId) {
        return new Cuda(deviceId);
    }

    /**
     * cudaMemcpy on the legacy default stream of the tensors' device (made current first: the
     * calling thread may be any, and its current device is per thread). A copy from pageable host
     * memory may return before its DMA ends, and ONNX Runtime's CUDA stream does not wait for the
     * default stream, so every upload ends with a device synchronization; downloads and device
     * copies are synchronous.
     */
    final class Cuda implements DeviceMemory {
        private final int deviceId;

        private Cuda(int deviceId) {
            this.deviceId = deviceId;
        }

        private void current() {
            check(cudart.cudaSetDevice(deviceId), "selection of device " + deviceId, 0);
        }

        @Override
        public void zero(Pointer device, long bytes) {
            current();
            check(cudart.cudaMemset(device, 0, bytes), "memset", bytes);
            check(cudart.cudaDeviceSynchronize(), "synchronization", 0);
        }

        @Override
        public void upload(Pointer device, Pointer host, long bytes) {
            current();
            check(cudart.cudaMemcpy(device, host, bytes, cudart.cudaMemcpyHostToDevice), "host to device", bytes);
            check(cudart.cudaDeviceSynchronize(), "synchronization", 0);
        }

        @Override
        public void download(Pointer host, Pointer device, long bytes) {
            current();
            check(cudart.cudaMemcpy(host, device, bytes, cudart.cudaMemcpyDeviceToHost), "device to host", bytes);
        }

        @Override
        public void copy(Pointer dst, Pointer src, long bytes) {
            current();
            check(cudart.cudaMemcpy(dst, src, bytes, cudart.cudaMemcpyDeviceToDevice), "device to device", bytes);
        }

        private void check(int status, String what, long bytes) {
            if (status != cudart.cudaSuccess) {
                throw new SdxlException("CUDA device " + deviceId + ": " + what
                        + (bytes > 0 ? " of " + bytes + " bytes" : "") + " failed: "
                        + cudart.cudaGetErrorString(status).getString());
            }
        }
    }
}
