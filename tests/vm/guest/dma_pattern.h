/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* DMA test patterns shared by the guest programs: distinct tags differ in every word. */
#ifndef DMA_PATTERN_H
#define DMA_PATTERN_H

#include <stdint.h>

/* Word i of the pattern named by @t. */
static inline uint32_t pat_word(uint32_t t, unsigned int i)
{
	return t ^ (i * 0x9e3779b1u);
}

/* Patterns are indexed by the word's place in the page: w[] holds words
 * [first, first + nwords) of the page. */
static inline void pat_fill(uint32_t *w, unsigned int first, unsigned int nwords, uint32_t t)
{
	for (unsigned int i = 0; i < nwords; i++)
		w[i] = pat_word(t, first + i);
}

/* How many of w[] hold their word of pattern @t. */
static inline unsigned int pat_match(const uint32_t *w, unsigned int first,
				     unsigned int nwords, uint32_t t)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nwords; i++)
		n += w[i] == pat_word(t, first + i);
	return n;
}

#endif /* DMA_PATTERN_H */
