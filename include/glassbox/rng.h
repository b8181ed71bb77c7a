/* glassbox — seeded, reproducible random numbers.
 *
 * xoshiro256** (Blackman & Vigna 2018) seeded through splitmix64. The whole state is four
 * words, so checkpoints can save and restore it exactly. Same seed ⇒ same stream on every
 * machine: nothing here depends on the platform's rand() or on floating-point libm quirks
 * beyond IEEE-754 basics (log/sqrt/cos in gb_rng_normal). */
#ifndef GLASSBOX_RNG_H
#define GLASSBOX_RNG_H

#include <stdint.h>

typedef struct gb_rng {
    uint64_t s[4];
} gb_rng;

void gb_rng_seed(gb_rng *r, uint64_t seed);
uint64_t gb_rng_u64(gb_rng *r);
/* uniform integer in [0, n) without modulo bias; n > 0 */
uint64_t gb_rng_below(gb_rng *r, uint64_t n);
/* uniform float in [0, 1) with 24 random bits */
float gb_rng_float(gb_rng *r);
/* standard normal (Box–Muller) */
float gb_rng_normal(gb_rng *r);

#endif
