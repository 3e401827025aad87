// SPDX-License-Identifier: Apache-2.0
// A stand-in for NVIDIA's libnvidia-ml.so.1 on machines without a GPU: the
// NVML calls runlog makes, answering with values scripted in the environment.
//
//   FAKE_NVML_GPUS    one GPU per `;`: name,utilization %,memory used MiB,memory total MiB,
//                     temperature °C,power mW,power limit mW
//                     e.g. "Tesla T4,37,1024,15360,61,35000,70000;Tesla T4,64,2048,15360,66,52500,70000"
//   FAKE_NVML_FAIL    "init": nvmlInit fails; "utilization": that call fails for every GPU
//   FAKE_NVML_DRIVER  the driver version (default 550.54.15); the CUDA version is 12.4
//
// Build: cc -shared -fPIC -o libnvidia-ml.so.1 fake_nvml.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct {
    char name[96];
    unsigned int util, temp, power, limit;
    unsigned long long used, total;
} fake_gpu;

static fake_gpu gpus[16];
static unsigned int count;

static int failing(const char *what) {
    const char *f = getenv("FAKE_NVML_FAIL");
    return f && strcmp(f, what) == 0;
}

int nvmlInit_v2(void) {
    if (failing("init")) return 9;  // NVML_ERROR_DRIVER_NOT_LOADED
    const char *spec = getenv("FAKE_NVML_GPUS");
    count = 0;
    if (!spec) return 0;
    char *copy = strdup(spec), *save = NULL;
    for (char *g = strtok_r(copy, ";", &save); g && count < 16; g = strtok_r(NULL, ";", &save)) {
        fake_gpu *d = &gpus[count];
        unsigned long long usedMiB = 0, totalMiB = 0;
        if (sscanf(g, "%95[^,],%u,%llu,%llu,%u,%u,%u", d->name, &d->util, &usedMiB, &totalMiB, &d->temp, &d->power,
                   &d->limit) != 7)
            continue;
        d->used = usedMiB << 20;
        d->total = totalMiB << 20;
        count++;
    }
    free(copy);
    return 0;
}

int nvmlShutdown(void) { return 0; }

int nvmlDeviceGetCount_v2(unsigned int *n) {
    *n = count;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **device) {
    if (i >= count) return 2;  // NVML_ERROR_INVALID_ARGUMENT
    *device = &gpus[i];
    return 0;
}

int nvmlDeviceGetUtilizationRates(void *device, nvmlUtilization_t *u) {
    if (failing("utilization")) return 999;  // NVML_ERROR_UNKNOWN
    u->gpu = ((fake_gpu *)device)->util;
    u->memory = 0;
    return 0;
}

int nvmlDeviceGetMemoryInfo(void *device, nvmlMemory_t *m) {
    fake_gpu *d = device;
    m->total = d->total;
    m->used = d->used;
    m->free = d->total - d->used;
    return 0;
}

int nvmlDeviceGetTemperature(void *device, int sensor, unsigned int *t) {
    if (sensor != 0) return 2;
    *t = ((fake_gpu *)device)->temp;
    return 0;
}

int nvmlDeviceGetPowerUsage(void *device, unsigned int *mw) {
    *mw = ((fake_gpu *)device)->power;
    return 0;
}

int nvmlDeviceGetEnforcedPowerLimit(void *device, unsigned int *mw) {
    *mw = ((fake_gpu *)device)->limit;
    return 0;
}

int nvmlDeviceGetName(void *device, char *name, unsigned int length) {
    snprintf(name, length, "%s", ((fake_gpu *)device)->name);
    return 0;
}

int nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    const char *v = getenv("FAKE_NVML_DRIVER");
    snprintf(version, length, "%s", v ? v : "550.54.15");
    return 0;
}

int nvmlSystemGetCudaDriverVersion(int *v) {
    *v = 12040;
    return 0;
}
