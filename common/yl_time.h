/* yl_time.h - the monotonic clock and bounded condition waits. Any
 * thread. Waits use CLOCK_MONOTONIC: a wall clock set back would stretch
 * a CLOCK_REALTIME deadline by as much. */
#ifndef YL_TIME_H
#define YL_TIME_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock (an arbitrary origin). */
int64_t yl_mono_ms(void);

/* Initialises c to wait on CLOCK_MONOTONIC, as the waits below need. */
void yl_cond_init_mono(pthread_cond_t *c);

/* The monotonic time ms milliseconds from now, for yl_timed_wait(). */
struct timespec yl_deadline_ms(int64_t ms);

/* pthread_cond_timedwait() on a yl_cond_init_mono() condition, m held:
 * 0 when woken (perhaps spuriously), ETIMEDOUT past deadline. */
int yl_timed_wait(pthread_cond_t *c, pthread_mutex_t *m,
                  const struct timespec *deadline);

/* The same, for at most ms milliseconds from now. */
int yl_timed_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms);

#endif
