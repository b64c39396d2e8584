package dev.saeforge.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.saeforge.store.Safetensors;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * Arrays to and from safetensors files a block at a time, so a tensor of any size (a 2 GiB
 * W_enc, its Adam moments) costs a fixed block of host memory beside the array itself, and no
 * Java buffer ever holds a whole tensor. Blocks are ranges of the array's row-major elements.
 */
public final class SafetensorsArrays {
    /** Host memory a block takes: 32 MiB of float32. */
    public static final int BLOCK_BYTES = 32 << 20;

    private SafetensorsArrays() {
    }

    /** {@code value}'s elements as float32, copied to the host a block at a time when the file is written. */
    public static Safetensors.Data float32(NDArray value) {
        return float32(value, BLOCK_BYTES / Float.BYTES);
    }

    static Safetensors.Data float32(NDArray value, long blockElements) {
        long elements = value.getShape().size();
        return new Safetensors.Data() {
            public long bytes() {
                return Math.multiplyExact(elements, Float.BYTES);
            }

            public void writeTo(WritableByteChannel out) throws IOException {
                // Every array made here (the flat view, each block's slice and host copy) is freed with its scope.
                try (NDManager scope = value.getManager().newSubManager()) {
                    NDArray flat = value.reshape(-1);
                    flat.attach(scope);
                    for (long first = 0; first < elements; first += blockElements) {
                        try (NDManager blockScope = scope.newSubManager()) {
                            NDArray slice = flat.get(new NDIndex().addSliceDim(first, Math.min(elements, first + blockElements)));
                            slice.attach(blockScope);
                            NDArray host = slice.toDevice(Device.cpu(), false).toType(DataType.FLOAT32, false);
                            // A direct view of the host block's memory (a contiguous copy when it is not contiguous).
                            Safetensors.writeFully(out, host.toByteBuffer(true));
                        }
                    }
                }
            }
        };
    }

    /** Tensor {@code name} as a new float32 array of its shape on {@code manager}'s device. */
    public static NDArray readFloat32(Safetensors.Reader reader, String name, NDManager manager) throws IOException {
        Safetensors.Tensor tensor = reader.tensor(name);
        long bytes = Math.max(Float.BYTES, Math.min(BLOCK_BYTES, tensor.elements() * Float.BYTES));
        return readFloat32(reader, name, manager, ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN));
    }

    static NDArray readFloat32(Safetensors.Reader reader, String name, NDManager manager, ByteBuffer staging) throws IOException {
        NDArray target = AnyDtype.empty(reader.tensor(name).shape(), Precision.FLOAT32, manager.getDevice(), manager);
        try {
            copyInto(reader, name, target, 0, staging);
            return target;
        } catch (IOException | RuntimeException e) {
            target.close();
            throw e;
        }
    }

    /**
     * Copies float tensor {@code name} into {@code target}'s row-major elements from element
     * {@code firstElement} on, converting to the target's dtype on the target's device. Blocks
     * are widened to float32 in {@code staging} (direct, little-endian) and copied over one at a time.
     */
    public static void copyInto(Safetensors.Reader reader, String name, NDArray target, long firstElement, ByteBuffer staging)
            throws IOException {
        long elements = reader.tensor(name).elements();
        int blockElements = staging.capacity() / Float.BYTES;
        try (NDManager blocks = Torch.engine().newBaseManager(Device.cpu()); NDArray flat = target.reshape(-1)) {
            for (long done = 0; done < elements; done += blockElements) {
                int count = (int) Math.min(blockElements, elements - done);
                reader.readFloats(name, done, count, staging);
                // The block shares the staging memory (torch from_blob); the copy reads it before the next block is read.
                try (NDArray block = blocks.create(staging.slice(0, count * Float.BYTES).order(ByteOrder.nativeOrder()),
                        new Shape(count), DataType.FLOAT32)) {
                    AnyDtype.copyRows(flat, firstElement + done, block);
                }
            }
        }
    }
}
