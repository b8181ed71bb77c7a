/* glassbox — small services from the operating system: monotonic time, thread count,
 * and Ctrl-C as a polite request to stop. */
#ifndef GLASSBOX_SYS_H
#define GLASSBOX_SYS_H

/* Seconds from an arbitrary fixed point; never goes backwards (CLOCK_MONOTONIC). */
double gb_time_now(void);

/* Number of OpenMP threads kernels use. n <= 0 selects the default: one per core. */
void gb_threads_set(int n);
int gb_threads_get(void);
/* Processors available to this process. */
int gb_cores(void);

/* Installs a SIGINT/SIGTERM handler that only raises a flag: long loops poll
 * gb_interrupted() and unwind cleanly (saving, removing temp files). A second Ctrl-C
 * while the first is being handled restores the default action (immediate exit). */
void gb_interrupt_install(void);
int gb_interrupted(void);

#endif
