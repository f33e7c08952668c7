/* libmixup_cuda — C ABI.
 *
 * Mixup (Zhang et al., 2018) as fastai runs it, and CutMix (Yun et al., 2019) beside it
 * (mixup_set_mixing), in one call per training step:
 * λ_i ~ Beta(α, α) per sample (folded to max(λ, 1 − λ)), a partner per sample from a shuffle
 * of the batch, out[i] = λ_i·x[i] + (1 − λ_i)·x[partner(i)], and the targets — stacked
 * (y_a, y_b, λ) for a dual-target loss, or blended label-smoothed one-hot / soft rows.
 *
 * Every call returns a status and never aborts; on failure `mixup_last_error()` (per thread)
 * says what was wrong, and no output has been written. No CUDA types appear here: streams
 * are `void*` (a cudaStream_t, or NULL for the default stream). With the CUDA backend all
 * data pointers are device memory; with the CPU backend, host memory.
 *
 * A handle owns its scratch and its step counter: use one handle per thread (or per stream);
 * calls on one handle from two threads at once are not supported. With the CUDA backend the
 * kernels of every call on one handle share its device scratch, so they must run in order:
 * give a handle one stream, or order its streams yourself (an event) — calls on one handle
 * through two unordered streams are not supported (their blocks would share counters).
 */
#ifndef MIXUP_MIXUP_H
#define MIXUP_MIXUP_H

#include <stddef.h>
#include <stdint.h>

#include "mixup/version.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mixup_status {
  MIXUP_STATUS_SUCCESS = 0,
  MIXUP_STATUS_INVALID_VALUE = 1, /* bad argument: the message names it */
  MIXUP_STATUS_NOT_SUPPORTED = 2, /* e.g. a dtype combination the kernels do not provide */
  MIXUP_STATUS_NO_DEVICE = 3,     /* CUDA backend asked for, no usable GPU or driver */
  MIXUP_STATUS_CUDA_ERROR = 4,    /* any other CUDA failure; the message has its name */
  MIXUP_STATUS_OUT_OF_MEMORY = 5,
  MIXUP_STATUS_INTERNAL = 6
} mixup_status_t;

typedef enum mixup_backend {
  MIXUP_BACKEND_CPU = 0,
  MIXUP_BACKEND_CUDA = 1,
  MIXUP_BACKEND_AUTO = 2 /* at creation: CUDA where config.device is a usable GPU, else CPU;
                            mixup_get_backend says which the handle got */
} mixup_backend_t;

typedef enum mixup_dtype {
  MIXUP_DTYPE_F32 = 0,
  MIXUP_DTYPE_F16 = 1,
  MIXUP_DTYPE_BF16 = 2,
  MIXUP_DTYPE_U8 = 3 /* input only: blended, then normalised to f32/f16/bf16 */
} mixup_dtype_t;

typedef enum mixup_layout { MIXUP_LAYOUT_NCHW = 0, MIXUP_LAYOUT_NHWC = 1 } mixup_layout_t;

typedef enum mixup_lambda_mode {
  MIXUP_LAMBDA_PER_SAMPLE = 0, /* fastai: one λ per sample (default) */
  MIXUP_LAMBDA_PER_BATCH = 1,  /* the paper: one λ for the whole batch */
  MIXUP_LAMBDA_PER_PAIR = 2    /* sample i and its partner share one λ */
} mixup_lambda_mode_t;

typedef enum mixup_pairing {
  MIXUP_PAIRING_PERMUTATION = 0, /* uniform random permutation (default) */
  MIXUP_PAIRING_INVOLUTION = 1,  /* random perfect matching i <-> j; allows in-place; with an
                                    odd batch one sample is paired with itself */
  MIXUP_PAIRING_FLIP = 2         /* i <-> N-1-i; relies on the loader having shuffled */
} mixup_pairing_t;

typedef enum mixup_targets_mode {
  MIXUP_TARGETS_NONE = 0,
  MIXUP_TARGETS_STACKED = 1, /* y_a = y[i], y_b = y[partner], lam — for a dual-target loss */
  MIXUP_TARGETS_ONEHOT = 2,  /* [N, classes] = λ·smooth(onehot(y_a)) + (1−λ)·smooth(onehot(y_b)) */
  MIXUP_TARGETS_SOFT = 3     /* [N, classes] = λ·t[i] + (1−λ)·t[partner] of caller rows t */
} mixup_targets_mode_t;

typedef enum mixup_checks {
  MIXUP_CHECKS_SYNC = 0,    /* CUDA: device-side checks (labels, a given λ / permutation) are
                               read back before the call returns: one stream sync per call */
  MIXUP_CHECKS_DEFERRED = 1 /* no sync; a failed check still writes nothing, and is reported by
                               mixup_poll_checks(). Required for graph capture. The host cannot
                               know of the failure, so outside graph mode the step advances as
                               after a good call (in graph mode, and with SYNC checks, a failed
                               call leaves the step where it was). */
} mixup_checks_t;

/* Start from mixup_config_default(), which sets every field to the default written beside it. */
typedef struct mixup_config {
  mixup_backend_t backend;         /* default MIXUP_BACKEND_CPU */
  int device;                      /* CUDA device ordinal. Default 0 */
  float alpha;                     /* Beta(α, α); finite, > 0. Default 0.4 */
  mixup_lambda_mode_t lambda_mode; /* default MIXUP_LAMBDA_PER_SAMPLE */
  mixup_pairing_t pairing;         /* default MIXUP_PAIRING_PERMUTATION */
  int fold;                        /* nonzero: λ = max(λ, 1 − λ) (fastai). Default 1 */
  uint64_t seed;                   /* default 0 */
  uint32_t rank_salt;              /* < 2^30; give each data-parallel rank its own. Default 0 */
  float label_smoothing;           /* ε in [0, 1), for one-hot targets. Default 0 */
  int32_t num_classes;             /* > 0 for labels and one-hot / soft targets. Default 0 (none) */
  int32_t max_batch;               /* scratch is sized for this at creation. Default 4096 */
  int stack_x;                     /* nonzero: write only x[partner] (fastai stack_x=True). Default 0 */
  int graph_mode;                  /* CUDA: the step lives on the device (new draws every graph
                                      replay). Default 0 */
  mixup_checks_t checks;           /* default MIXUP_CHECKS_SYNC */
  int cpu_threads;                 /* CPU backend: 0 = all hardware threads. Default 0 */
} mixup_config_t;

/* One batch of N samples. Images: [N, C, H, W] (NCHW) or [N, H, W, C] (NHWC). Any other
 * per-sample shape: C = H = 1 and W = elements per sample. */
typedef struct mixup_batch {
  void* data;
  mixup_dtype_t dtype;
  int64_t n, c, h, w;
  mixup_layout_t layout;
} mixup_batch_t;

/* Start from mixup_targets_default(): mode MIXUP_TARGETS_NONE, every pointer NULL. */
typedef struct mixup_targets {
  mixup_targets_mode_t mode;
  const int32_t* labels; /* in [N]: STACKED (when y_a or y_b is wanted) and ONEHOT */
  const float* soft_in;  /* in [N, classes]: SOFT */
  int32_t* y_a;          /* out [N], STACKED, may be NULL */
  int32_t* y_b;          /* out [N], STACKED, may be NULL */
  float* lam;            /* out [N], any mode, may be NULL: λ of each sample */
  float* soft_out;       /* out [N, classes]: ONEHOT and SOFT */
  int32_t* perm;         /* out [N], any mode, may be NULL: partner of each sample */
} mixup_targets_t;

/* How each draw mixes (timm's Mixup(prob, switch_prob, cutmix_alpha, cutmix_minmax,
 * correct_lam, mode); torchvision's CutMix/RandomChoice). A "draw" is what config.lambda_mode
 * shares: the whole batch (timm mode="batch"), a pair (mode="pair"), or one sample
 * (mode="elem"); each draw is, independently:
 *   not mixed, with probability 1 − prob: the sample is kept whole, λ = 1, partner = itself;
 *   CutMix, with probability prob·switch_prob: a box of the partner pasted (Yun et al., 2019);
 *   mixup otherwise: λ ~ Beta(config.alpha, config.alpha), folded if config.fold.
 * CutMix box: λ' ~ Beta(cutmix_alpha, cutmix_alpha) (never folded), cut = ⌊H·√(1 − λ')⌋, a
 * centre row cy uniform in [0, H), and rows [cy − ⌊cut/2⌋, cy + ⌊cut/2⌋) clipped to [0, H):
 * 2·⌊cut/2⌋ rows before clipping (timm's rand_bbox); likewise columns with W. With
 * cutmix_minmax set, the sides are uniform integers in [⌊H·lo⌋, ⌊H·hi⌋] (likewise W; lo and hi
 * read as the shortest decimal that gives back the float, so {0.3, 0.7} at H = 10 is [3, 7]) and
 * the corner uniform over the positions where the box lies wholly inside the image, touching the
 * bottom / right edge included (timm's randint excludes both ⌊H·hi⌋ and the edge).
 * λ is then 1 − box area / (H·W), the fraction of pixels kept
 * (always with minmax; with correct_lam otherwise, else λ'). All boxes are per draw: in
 * per-sample mode every sample has its own box. Drawn on the device, from the same streams on
 * both backends. mixup_apply_given and mixup_apply_replay ignore this: their λ and partners are the
 * caller's (mixup_apply_given: always mixup). */
typedef struct mixup_mixing {
  float prob;             /* in [0, 1]: chance a draw is mixed at all. Default 1 */
  float switch_prob;      /* in [0, 1]: chance a mixed draw is CutMix (1: CutMix only). Default 0 */
  float cutmix_alpha;     /* finite, > 0. Default 1 (torchvision's) */
  float cutmix_minmax[2]; /* {0, 0}: off (default); else 0 < lo <= hi <= 1 */
  int correct_lam;        /* nonzero (default): λ = the kept fraction of the image */
} mixup_mixing_t;

typedef enum mixup_kind { MIXUP_KIND_NONE = 0, MIXUP_KIND_MIXUP = 1, MIXUP_KIND_CUTMIX = 2 } mixup_kind_t;

/* What each sample of one call drew, besides targets.lam and targets.perm; each optional. */
typedef struct mixup_draws {
  int32_t* kind; /* out [N]: a mixup_kind_t */
  int32_t* box;  /* out [N, 4]: the pasted box, rows [y0, y1) × columns [x0, x1), as y0, x0, y1,
                    x1; all 0 unless CutMix (an empty CutMix box has y0 == y1 or x0 == x1) */
} mixup_draws_t;

typedef struct mixup_handle_s* mixup_handle_t;

MIXUP_API mixup_config_t mixup_config_default(void);
MIXUP_API mixup_targets_t mixup_targets_default(void);

MIXUP_API mixup_status_t mixup_create(const mixup_config_t* config, mixup_handle_t* handle);
MIXUP_API mixup_status_t mixup_destroy(mixup_handle_t handle); /* NULL is fine */
/* The backend the handle runs on: CPU or CUDA, never AUTO (that was resolved at creation). */
MIXUP_API mixup_status_t mixup_get_backend(mixup_handle_t handle, mixup_backend_t* backend);

/* The step names the draws: the same (seed, salt, step) gives the same λ and partners, bit
 * for bit, on either backend. mixup_apply uses the current step and, on success, advances it. */
MIXUP_API mixup_status_t mixup_set_step(mixup_handle_t handle, uint64_t step);
MIXUP_API mixup_status_t mixup_get_step(mixup_handle_t handle, uint64_t* step);

/* uint8 input: out = (v/255 − mean[c]) / std[c] after the blend (the same thing, since the map
 * is affine). Host arrays of `channels` (≤ 16) floats; NULL mean/std means 0 / 1. */
MIXUP_API mixup_status_t mixup_set_normalize(mixup_handle_t handle, const float* mean, const float* std,
                                             int32_t channels);

/* One training step: draws λ and partners, blends x into out, writes targets. out must not
 * overlap x, except out->data == x->data with the same dtype under MIXUP_PAIRING_INVOLUTION
 * (in place: one read and one write per element). */
MIXUP_API mixup_status_t mixup_apply(mixup_handle_t handle, const mixup_batch_t* x, const mixup_batch_t* out,
                                     const mixup_targets_t* targets, void* stream);

/* The same with the caller's λ [N] (each in [0, 1]) and partners [N] (a permutation of
 * 0..N-1) instead of the handle's draws: for replay, tests, and λ sampled elsewhere. Does not
 * advance the step. */
MIXUP_API mixup_status_t mixup_apply_given(mixup_handle_t handle, const mixup_batch_t* x, const float* lam,
                                           const int32_t* perm, const mixup_batch_t* out,
                                           const mixup_targets_t* targets, void* stream);

MIXUP_API mixup_mixing_t mixup_mixing_default(void);
/* Sets how later calls mix (bad values: INVALID_VALUE, nothing changed). CutMix needs images:
 * it is refused with config.stack_x. Graph mode: set it before capture (a captured call keeps
 * the policy it was captured with). */
MIXUP_API mixup_status_t mixup_set_mixing(mixup_handle_t handle, const mixup_mixing_t* mixing);

/* mixup_apply, also writing what each sample drew (draws may be NULL). */
MIXUP_API mixup_status_t mixup_apply_with_draws(mixup_handle_t handle, const mixup_batch_t* x,
                                                const mixup_batch_t* out, const mixup_targets_t* targets,
                                                const mixup_draws_t* draws, void* stream);

/* What a mixup_apply_with_draws call reported (targets.lam, targets.perm, draws.kind,
 * draws.box), as the input of a replay. Arrays of N, on the backend's side like x. */
typedef struct mixup_replay {
  const float* lam;    /* λ of each sample, in [0, 1] */
  const int32_t* perm; /* partner of each sample, in [0, N); need not be a permutation */
  const int32_t* kind; /* a mixup_kind_t per sample; NULL: every sample MIXUP. NONE needs
                          perm[i] = i and lam[i] = 1 */
  const int32_t* box;  /* [N, 4] y0, x0, y1, x1, read for CUTMIX samples only (NULL when there
                          are none): 0 <= y0 <= y1 <= h, 0 <= x0 <= x1 <= w */
} mixup_replay_t;

/* Replays a drawn call: with the λ, partners, kinds and boxes it reported, on the same x,
 * writes the same bits to out and the same targets, on either backend, whatever the handle's
 * mixing policy (it is not used). Does not advance the step. In place (out->data == x->data)
 * needs an involution handle, and every mixed sample i with partner j ≠ i needs perm[j] = i or
 * kind[j] = NONE (which a drawn in-place call always reports). Bad input: INVALID_VALUE, with
 * the first offending sample named, and nothing written. */
MIXUP_API mixup_status_t mixup_apply_replay(mixup_handle_t handle, const mixup_batch_t* x,
                                            const mixup_replay_t* given, const mixup_batch_t* out,
                                            const mixup_targets_t* targets, void* stream);

/* MIXUP_CHECKS_DEFERRED: waits for `stream` and reports the first device-side check that
   failed since the last poll (that call wrote nothing), then forgets it. */
MIXUP_API mixup_status_t mixup_poll_checks(mixup_handle_t handle, void* stream);

/* The CUDA devices this machine has: 0, with success, where there is none or no NVIDIA driver
 * at all (and always in a build without CUDA); an error only for a driver that is there but
 * unusable (e.g. older than the library's CUDA runtime: the message says so). */
MIXUP_API mixup_status_t mixup_cuda_device_count(int* count);

/* The instruction-set level the CPU backend's vector loops run at, chosen once per process:
 * "baseline" (x86-64), "avx2" (x86-64-v3) or "avx512" (x86-64-v4) — the best this CPU has, or
 * the cap set by the environment variable MIXUP_CPU_ISA (same names). Every level gives the same
 * bits; the cap is for reproducing and testing. A MIXUP_CPU_ISA that names no level, or one above
 * what the CPU supports, gives INVALID_VALUE here and from mixup_create / mixup_loss_create with
 * the CPU backend. *name is a static string. */
MIXUP_API mixup_status_t mixup_cpu_isa(const char** name);

MIXUP_API const char* mixup_last_error(void);
/* The library's version, "MAJOR.MINOR.PATCH": the one actually loaded, which may be newer than
 * the MIXUP_VERSION_STRING a program was compiled with. */
MIXUP_API const char* mixup_version(void);
MIXUP_API const char* mixup_status_string(mixup_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* MIXUP_MIXUP_H */
