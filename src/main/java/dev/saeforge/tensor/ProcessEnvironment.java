package dev.saeforge.tensor;

import com.sun.jna.Library;
import com.sun.jna.Native;
import org.graalvm.nativeimage.c.function.CFunction;
import org.graalvm.nativeimage.c.type.CCharPointer;
import org.graalvm.nativeimage.c.type.CTypeConversion;

/**
 * This process's own environment, as native libraries read it (libc getenv/setenv). Java's
 * System.getenv is a copy taken at start-up: it neither changes nor reaches libtorch. On a JVM the
 * calls go through JNA; the native executable carries no JNA dispatch library and calls libc
 * through GraalVM's C interface instead (as {@link NativeMemory} does). Initialised at run time.
 */
final class ProcessEnvironment {
    private static final boolean NATIVE_EXECUTABLE = "runtime".equals(System.getProperty("org.graalvm.nativeimage.imagecode"));
    private static final Libc LIBC = NATIVE_EXECUTABLE ? null : Native.load("c", Libc.class);

    private ProcessEnvironment() {
    }

    interface Libc extends Library {
        int setenv(String name, String value, int overwrite);

        String getenv(String name);
    }

    /** libc's setenv and getenv as the native executable calls them; only ever loaded there. */
    static final class LinkedLibc {
        @CFunction("setenv")
        static native int setenv(CCharPointer name, CCharPointer value, int overwrite);

        @CFunction("getenv")
        static native CCharPointer getenv(CCharPointer name);
    }

    /** Sets {@code name} to {@code value} for everything in this process that reads it from now on. */
    static void set(String name, String value) {
        int result;
        if (NATIVE_EXECUTABLE) {
            try (CTypeConversion.CCharPointerHolder n = CTypeConversion.toCString(name);
                 CTypeConversion.CCharPointerHolder v = CTypeConversion.toCString(value)) {
                result = LinkedLibc.setenv(n.get(), v.get(), 1);
            }
        } else {
            result = LIBC.setenv(name, value, 1);
        }
        if (result != 0) {
            throw new IllegalStateException("setenv " + name + " failed");
        }
    }

    /** The value of {@code name} in this process's environment now; null if unset. */
    static String get(String name) {
        if (NATIVE_EXECUTABLE) {
            try (CTypeConversion.CCharPointerHolder n = CTypeConversion.toCString(name)) {
                return CTypeConversion.toJavaString(LinkedLibc.getenv(n.get()));
            }
        }
        return LIBC.getenv(name);
    }
}
