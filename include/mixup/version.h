/* libmixup_cuda — version and symbol export. The CMake project reads its version from here,
 * so this is the one place it is written. The shared library's SONAME carries the major
 * version (libmixup_cuda.so.0); within one major version the C ABI only grows. */
#ifndef MIXUP_VERSION_H
#define MIXUP_VERSION_H

#define MIXUP_VERSION_MAJOR 0
#define MIXUP_VERSION_MINOR 1
#define MIXUP_VERSION_PATCH 0
#define MIXUP_VERSION_STRING "0.1.0"

/* The C ABI is all the shared library exports; everything else is built hidden. */
#if defined(_WIN32)
#define MIXUP_API
#else
#define MIXUP_API __attribute__((visibility("default")))
#endif

#endif /* MIXUP_VERSION_H */
