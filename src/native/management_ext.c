/*
 * The natives of com.sun.management.internal.OperatingSystemImpl that the OpenTelemetry JVM
 * metrics reach, for native executables built with the toolchain .ci/run assembles from Maven
 * Central jars (the pom's native-assembled-toolchain profile links this file). That toolchain has
 * no static libmanagement_ext, and the JDK's shared one cannot be loaded beside its libjvm stub
 * (it needs JVM_GetManagement). Mandrel and GraalVM ship the real library: release images never
 * use this file. Values come from the kernel as the JDK reads them; CPU load is reported as
 * unavailable (negative), as the JDK does when it cannot compute it.
 */
#include <jni.h>
#include <stdio.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#define OS_IMPL(name) Java_com_sun_management_internal_OperatingSystemImpl_##name

static jlong pages(int name) {
    long count = sysconf(name), size = sysconf(_SC_PAGESIZE);
    return count < 0 || size < 0 ? -1 : (jlong) count * size;
}

JNIEXPORT void JNICALL OS_IMPL(initialize0)(JNIEnv *env, jclass cls) {
}

JNIEXPORT jlong JNICALL OS_IMPL(getTotalMemorySize0)(JNIEnv *env, jobject self) {
    return pages(_SC_PHYS_PAGES);
}

JNIEXPORT jlong JNICALL OS_IMPL(getFreeMemorySize0)(JNIEnv *env, jobject self) {
    return pages(_SC_AVPHYS_PAGES);
}

JNIEXPORT jlong JNICALL OS_IMPL(getTotalSwapSpaceSize0)(JNIEnv *env, jobject self) {
    struct sysinfo si;
    return sysinfo(&si) != 0 ? -1 : (jlong) si.totalswap * si.mem_unit;
}

JNIEXPORT jlong JNICALL OS_IMPL(getFreeSwapSpaceSize0)(JNIEnv *env, jobject self) {
    struct sysinfo si;
    return sysinfo(&si) != 0 ? -1 : (jlong) si.freeswap * si.mem_unit;
}

JNIEXPORT jlong JNICALL OS_IMPL(getCommittedVirtualMemorySize0)(JNIEnv *env, jobject self) {
    unsigned long pagesTotal;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm == NULL) {
        return -1;
    }
    int read = fscanf(statm, "%lu", &pagesTotal);
    fclose(statm);
    return read != 1 ? -1 : (jlong) pagesTotal * sysconf(_SC_PAGESIZE);
}

JNIEXPORT jlong JNICALL OS_IMPL(getProcessCpuTime0)(JNIEnv *env, jobject self) {
    struct timespec ts;
    return clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0 ? -1 : (jlong) ts.tv_sec * 1000000000L + ts.tv_nsec;
}

JNIEXPORT jdouble JNICALL OS_IMPL(getProcessCpuLoad0)(JNIEnv *env, jobject self) {
    return -1.0;
}

JNIEXPORT jdouble JNICALL OS_IMPL(getCpuLoad0)(JNIEnv *env, jobject self) {
    return -1.0;
}

JNIEXPORT jdouble JNICALL OS_IMPL(getSingleCpuLoad0)(JNIEnv *env, jobject self, jint cpu) {
    return -1.0;
}

JNIEXPORT jint JNICALL OS_IMPL(getHostConfiguredCpuCount0)(JNIEnv *env, jobject self) {
    return (jint) sysconf(_SC_NPROCESSORS_CONF);
}

JNIEXPORT jint JNICALL OS_IMPL(getHostOnlineCpuCount0)(JNIEnv *env, jobject self) {
    return (jint) sysconf(_SC_NPROCESSORS_ONLN);
}

JNIEXPORT jlong JNICALL OS_IMPL(getHostTotalCpuTicks0)(JNIEnv *env, jobject self) {
    return -1;
}
