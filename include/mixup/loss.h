/* libmixup_cuda — the mixup loss (fastai's MixUpLoss) as one fused kernel. C ABI.
 *
 *   loss_i = λ_i·CE(z_i, y_a,i) + (1 − λ_i)·CE(z_i, y_b,i), with label smoothing ε,
 *
 * and, in the same pass over the logits, dL/dz. One read of z and one write of the gradient;
 * log-sum-exp once per row. With no y_b / λ it is plain cross-entropy, so one loss serves
 * mixed and unmixed steps. Also: soft-target cross-entropy, and the combinator
 * λ·l_a + (1 − λ)·l_b for any per-sample loss computed elsewhere.
 *
 * Same conventions as mixup.h: a status per call, mixup_last_error(), no output written on
 * failure, device pointers for the CUDA backend and host pointers for the CPU backend. The
 * scratch a reduction needs is owned by the loss handle and sized for max_batch when it is
 * created, so there is no workspace to query and nothing is allocated per call. As for a
 * mixup handle: calls on one loss handle must be stream-ordered (one stream per handle, or
 * streams the caller orders); two unordered streams on one handle are not supported.
 */
#ifndef MIXUP_LOSS_H
#define MIXUP_LOSS_H

#include "mixup/mixup.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mixup_reduction {
  MIXUP_REDUCTION_NONE = 0, /* loss[B] per sample */
  MIXUP_REDUCTION_MEAN = 1, /* loss[1] = sum / (rows whose y_a is not ignore_index) */
  MIXUP_REDUCTION_SUM = 2   /* loss[1] = sum */
} mixup_reduction_t;

/* Start from mixup_loss_config_default(), which sets every field to the default written beside it. */
typedef struct mixup_loss_config {
  mixup_backend_t backend; /* CPU, CUDA or AUTO (resolved at creation). Default MIXUP_BACKEND_CPU */
  int device;              /* CUDA device ordinal. Default 0 */
  int32_t max_batch;       /* scratch is sized for this at creation. Default 8192 */
  mixup_checks_t checks;   /* CUDA: read device-side label checks back (SYNC) or not. Default SYNC */
  int cpu_threads;         /* CPU: 0 = all hardware threads. Default 0 */
} mixup_loss_config_t;

typedef struct mixup_loss_s* mixup_loss_t;

typedef struct mixup_ce_args {
  const void* logits;  /* [batch, classes], row-major */
  mixup_dtype_t dtype; /* F32, F16 or BF16. Default F32 */
  int64_t batch;
  int32_t classes;
  /* Hard targets (stacked, from mixup_apply): y_a [B]; y_b [B] and lam [B] optional — without
   * them it is plain cross-entropy on y_a. A row whose y_a is ignore_index contributes nothing
   * (loss 0, gradient 0, not counted by MEAN); a y_b equal to ignore_index drops its term. */
  const int32_t* y_a;
  const int32_t* y_b;
  const float* lam;
  /* Or soft targets [B, classes] (then y_a, y_b, lam must be NULL). */
  const float* soft_targets;
  float label_smoothing;       /* ε in [0, 1): targets become (1 − ε)·t + ε/C. Default 0 */
  int32_t ignore_index;        /* default −100, as in PyTorch */
  mixup_reduction_t reduction; /* default MIXUP_REDUCTION_MEAN */
  float loss_scale;            /* multiplies the gradient only (mixed precision); default 1 */
  float* loss;                 /* out: [B] for NONE, [1] otherwise; never scaled by loss_scale */
  void* grad;                  /* out, optional: dL/dz [B, classes]; NULL = forward only; may be
                              `logits` itself (same dtype): computed in place, race-free */
  mixup_dtype_t grad_dtype;    /* the logits' dtype or F32. Default F32 */
} mixup_ce_args_t;

MIXUP_API mixup_loss_config_t mixup_loss_config_default(void);
MIXUP_API mixup_ce_args_t mixup_ce_args_default(void);

MIXUP_API mixup_status_t mixup_loss_create(const mixup_loss_config_t* config, mixup_loss_t* loss);
MIXUP_API mixup_status_t mixup_loss_destroy(mixup_loss_t loss);

/* The fused loss (and gradient, when args->grad is set). */
MIXUP_API mixup_status_t mixup_cross_entropy(mixup_loss_t loss, const mixup_ce_args_t* args, void* stream);

/* out = reduce(λ·l_a + (1 − λ)·l_b) for per-sample losses computed elsewhere: out[B] for
 * NONE, out[1] for MEAN / SUM. λ must be in [0, 1]. */
MIXUP_API mixup_status_t mixup_combine_losses(mixup_loss_t loss, const float* l_a, const float* l_b,
                                              const float* lam, int64_t batch, mixup_reduction_t reduction,
                                              float* out, void* stream);

/* MIXUP_CHECKS_DEFERRED: waits for `stream` and reports the first device-side check that
   failed since the last poll (that call wrote nothing), then forgets it. */
MIXUP_API mixup_status_t mixup_loss_poll_checks(mixup_loss_t loss, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* MIXUP_LOSS_H */
