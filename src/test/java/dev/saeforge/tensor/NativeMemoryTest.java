package dev.saeforge.tensor;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class NativeMemoryTest {
    @Test
    void onGlibcLinuxFreedMemoryCanBeHandedBack() {
        assumeTrue(System.getProperty("os.name").startsWith("Linux") && new java.io.File("/lib/x86_64-linux-gnu/libc.so.6").exists(),
                "glibc Linux only");
        assertThat(NativeMemory.available()).as("malloc_trim found through JNA").isTrue();
        NativeMemory.release();
        NativeMemory.releaseAtMostEvery(Long.MAX_VALUE);
    }
}
