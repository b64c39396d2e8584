package dev.saeforge.tensor;

import com.sun.jna.Library;
import com.sun.jna.Native;
import org.graalvm.nativeimage.c.function.CFunction;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Hands freed native memory back to the operating system. libtorch frees a training step's
 * tensors to glibc's malloc, which keeps many of the freed blocks in fragmented heaps instead of
 * returning them: measured here, a JumpReLU training process grew by about 1 MiB per step with
 * no live tensor leaking. glibc's malloc_trim returns those pages. It costs about 10 ms, so the
 * trainer calls {@link #releaseAtMostEvery} rather than trimming every step. Where there is no
 * glibc (macOS, musl) this does nothing.
 *
 * <p>On a JVM, JNA finds malloc_trim. The native executable carries no JNA dispatch library, so
 * there it calls malloc_trim directly through GraalVM's C interface, linked like any libc call.
 */
public final class NativeMemory {
    private static final Logger LOG = Logger.getLogger(NativeMemory.class);
    /**
     * What GraalVM sets while a native executable runs (ImageInfo reads it; that class is not on a
     * JVM's class path). This class is initialised at run time (application.properties), so the
     * image builder never decides it.
     */
    private static final boolean NATIVE_EXECUTABLE = "runtime".equals(System.getProperty("org.graalvm.nativeimage.imagecode"));
    private static final Libc LIBC = NATIVE_EXECUTABLE ? null : load();
    private static long lastRelease = System.nanoTime();

    private NativeMemory() {
    }

    interface Libc extends Library {
        int malloc_trim(long pad);
    }

    private static Libc load() {
        try {
            Libc libc = Native.load("c", Libc.class);
            libc.malloc_trim(0);
            return libc;
        } catch (Throwable e) {   // no glibc, or JNA cannot load here: nothing to trim
            LOG.debugf("malloc_trim is not available (%s); freed native memory stays with the allocator", e);
            return null;
        }
    }

    /** glibc's malloc_trim as the native executable calls it; only ever loaded there. */
    static final class LinkedLibc {
        @CFunction("malloc_trim")
        static native int mallocTrim(long pad);
    }

    /** Whether this process can hand memory back (glibc's malloc_trim was found). */
    public static boolean available() {
        return NATIVE_EXECUTABLE || LIBC != null;
    }

    /** Returns freed native memory to the operating system now. */
    public static synchronized void release() {
        if (NATIVE_EXECUTABLE) {
            LinkedLibc.mallocTrim(0);
        } else if (LIBC != null) {
            LIBC.malloc_trim(0);
        }
        lastRelease = System.nanoTime();
    }

    /** This process's resident memory now (VmRSS), from /proc (Linux). */
    public static long residentBytes() throws IOException {
        return statusBytes("VmRSS:");
    }

    /** This process's peak resident memory (VmHWM) since it started or since {@link #resetPeak}. */
    public static long peakResidentBytes() throws IOException {
        return statusBytes("VmHWM:");
    }

    /** Starts the peak ({@link #peakResidentBytes}) afresh from the current resident memory (Linux clear_refs 5). */
    public static void resetPeak() throws IOException {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    }

    private static long statusBytes(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("/proc/self/status has no " + key + " line");
    }

    /** {@link #release()} if the last release was at least {@code nanos} ago. */
    public static synchronized void releaseAtMostEvery(long nanos) {
        if (System.nanoTime() - lastRelease >= nanos) {
            release();
        }
    }
}
