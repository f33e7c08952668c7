/* The C ABI alone, as a Makefile or Meson project would use it (built by the install test
 * with `cc $(pkg-config --cflags --libs mixup_cuda)` against the shared library): one handle,
 * one call, and a check of what came back. CPU backend, so it runs anywhere. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mixup/mixup.h"

int main(void) {
  enum { kBatch = 6, kPer = 4, kClasses = 3 };
  float x[kBatch * kPer], out[kBatch * kPer], lam[kBatch];
  int32_t labels[kBatch], y_a[kBatch], y_b[kBatch], perm[kBatch];
  for (int i = 0; i < kBatch; ++i) {
    labels[i] = i % kClasses;
    for (int e = 0; e < kPer; ++e) x[i * kPer + e] = (float)i; /* image i is all i */
  }
  if (strcmp(mixup_version(), MIXUP_VERSION_STRING) != 0) {
    printf("FAILED: library %s, header %s\n", mixup_version(), MIXUP_VERSION_STRING);
    return 1;
  }
  mixup_config_t config = mixup_config_default();
  config.num_classes = kClasses;
  config.max_batch = kBatch;
  config.seed = 11;
  mixup_handle_t h = NULL;
  if (mixup_create(&config, &h) != MIXUP_STATUS_SUCCESS) {
    printf("FAILED: %s\n", mixup_last_error());
    return 1;
  }
  mixup_batch_t bx = {x, MIXUP_DTYPE_F32, kBatch, 1, 2, 2, MIXUP_LAYOUT_NCHW};
  mixup_batch_t bo = {out, MIXUP_DTYPE_F32, kBatch, 1, 2, 2, MIXUP_LAYOUT_NCHW};
  mixup_targets_t t;
  memset(&t, 0, sizeof t);
  t.mode = MIXUP_TARGETS_STACKED;
  t.labels = labels, t.y_a = y_a, t.y_b = y_b, t.lam = lam, t.perm = perm;
  const mixup_status_t s = mixup_apply(h, &bx, &bo, &t, NULL);
  mixup_destroy(h);
  if (s != MIXUP_STATUS_SUCCESS) {
    printf("FAILED: %s: %s\n", mixup_status_string(s), mixup_last_error());
    return 1;
  }
  int bad = 0;
  for (int i = 0; i < kBatch; ++i) {
    const double want = lam[i] * i + (1.0 - lam[i]) * perm[i];
    bad += fabs(out[i * kPer] - want) > 1e-5 || lam[i] < 0.5f || y_b[i] != labels[perm[i]];
  }
  printf(bad ? "FAILED: %d samples wrong (libmixup_cuda %s)\n" : "ok: %d samples wrong, libmixup_cuda %s\n",
         bad, mixup_version());
  return bad != 0;
}
