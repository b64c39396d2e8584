package dev.saeforge.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import ai.djl.pytorch.jni.JniUtils;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * A TorchScript program written in this project: TorchScript source kept as a resource, archived
 * in memory as libtorch's serialized-module format and loaded by DJL's PyTorch engine
 * (reference/torchscript.md). Inside a program every ATen op is there, bfloat16 and
 * scaled_dot_product_attention among them, which DJL's own NDArray API lacks.
 *
 * <p>The source is a module class in the serialized dialect: {@code class NAME(Module):} with
 * {@code __parameters__ = []}, {@code __buffers__ = []}, {@code training : bool}, and typed
 * methods taking {@code self: __torch__.NAME}. A program holds no state: tensors come in as
 * arguments and go out as results. Methods may run on several threads at once.
 */
public final class TorchScript implements AutoCloseable {
    /** dtype codes as TorchScript programs take them (c10::ScalarType). */
    public static final long FLOAT16 = 5;
    public static final long FLOAT32 = 6;
    public static final long FLOAT64 = 7;
    public static final long BFLOAT16 = 15;

    private static final Pattern CLASS = Pattern.compile("(?m)^class ([A-Za-z_][A-Za-z0-9_]*)\\(Module\\):");

    private final String name;
    private final PtNDManager manager;
    private final PtSymbolBlock module;

    private TorchScript(String name, PtNDManager manager, PtSymbolBlock module) {
        this.name = name;
        this.manager = manager;
        this.module = module;
    }

    /** Loads the program whose source is the class-path resource {@code resource}, for tensors on {@code device}. */
    public static TorchScript load(String resource, Device device) {
        byte[] bytes = archive(source(resource));
        PtNDManager manager = (PtNDManager) Torch.engine().newBaseManager(device);
        try (InputStream archive = new ByteArrayInputStream(bytes)) {
            return new TorchScript(resource, manager, JniUtils.loadModule(manager, archive, true, false));
        } catch (IOException e) {
            manager.close();
            throw new UncheckedIOException("loading the TorchScript program " + resource, e);
        } catch (RuntimeException e) {
            manager.close();
            throw new IllegalStateException("libtorch refused the TorchScript program " + resource + ": " + e.getMessage(), e);
        }
    }

    /** The source text of the program resource {@code resource}. */
    public static String source(String resource) {
        try (InputStream in = TorchScript.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the TorchScript program " + resource + " is not on the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading the TorchScript program " + resource, e);
        }
    }

    /** Writes the archive of {@code resource} to {@code file}: what {@code torch.jit.load} reads, in Python as in Java. */
    public static void writeArchive(String resource, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.write(file, archive(source(resource)));
    }

    /**
     * libtorch's serialized-module zip, entries stored: the source as {@code code/__torch__.py},
     * the module object as a protocol-2 pickle ({@code __torch__.NAME} with {training: False}),
     * an empty constants tuple and format version 3.
     */
    static byte[] archive(String source) {
        Matcher declared = CLASS.matcher(source);
        if (!declared.find()) {
            throw new IllegalArgumentException("a TorchScript program declares its module as \"class NAME(Module):\"; none found");
        }
        String className = declared.group(1);
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        pickle.writeBytes(new byte[]{(byte) 0x80, 2, 'c'});                  // PROTO 2, GLOBAL
        pickle.writeBytes(("__torch__\n" + className + "\n").getBytes(StandardCharsets.US_ASCII));
        pickle.writeBytes(new byte[]{')', (byte) 0x81, '}', 'X', 8, 0, 0, 0}); // EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, BINUNICODE len 8
        pickle.writeBytes("training".getBytes(StandardCharsets.US_ASCII));
        pickle.writeBytes(new byte[]{(byte) 0x89, 's', 'b', '.'});           // NEWFALSE, SETITEM, BUILD, STOP
        String root = className.toLowerCase() + "/";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            stored(zip, root + "data.pkl", pickle.toByteArray());
            stored(zip, root + "code/__torch__.py", source.getBytes(StandardCharsets.UTF_8));
            stored(zip, root + "constants.pkl", new byte[]{(byte) 0x80, 2, ')', '.'});
            stored(zip, root + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] content) throws IOException {
        ZipEntry entry = new ZipEntry(name);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(content.length);
        CRC32 crc = new CRC32();
        crc.update(content);
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(content);
        zip.closeEntry();
    }

    /** The arguments of one call, built in order; they are released when the call returns. */
    public final class Call implements AutoCloseable {
        private final String method;
        private final List<IValue> arguments = new ArrayList<>();

        private Call(String method) {
            this.method = method;
        }

        public Call tensor(NDArray array) {
            arguments.add(IValue.from((PtNDArray) array));
            return this;
        }

        public Call tensors(List<? extends NDArray> arrays) {
            arguments.add(IValue.listFrom(arrays.toArray(PtNDArray[]::new)));
            return this;
        }

        public Call integer(long value) {
            arguments.add(IValue.from(value));
            return this;
        }

        public Call integers(long... values) {
            arguments.add(IValue.listFrom(values));
            return this;
        }

        public Call text(String value) {
            arguments.add(IValue.from(value));
            return this;
        }

        public Call real(double value) {
            arguments.add(IValue.from(value));
            return this;
        }

        /** Runs a method that returns nothing. */
        public void returningNothing() {
            run().close();
        }

        /** Runs the method; its Tensor result belongs to {@code owner}. */
        public NDArray returningTensor(NDManager owner) {
            try (IValue result = run()) {
                return result.toTensor((PtNDManager) owner);
            }
        }

        /** Runs the method; each tensor of its List[Tensor] result belongs to {@code owner}. */
        public List<NDArray> returningTensors(NDManager owner) {
            try (IValue result = run()) {
                return List.of(result.toTensorArray((PtNDManager) owner));
            }
        }

        private IValue run() {
            try {
                return IValueUtils.runMethod(module, method, arguments.toArray(IValue[]::new));
            } finally {
                close();
            }
        }

        @Override
        public void close() {
            arguments.forEach(IValue::close);
            arguments.clear();
        }
    }

    /** Starts a call of {@code method}. */
    public Call call(String method) {
        return new Call(method);
    }

    public String name() {
        return name;
    }

    /** The device the program was loaded for (its tensors' manager device). */
    public Device device() {
        return manager.getDevice();
    }

    @Override
    public void close() {
        module.close();
        manager.close();
    }
}
