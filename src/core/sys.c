/* glassbox — monotonic clock, OpenMP thread control, SIGINT flag. */
#include "glassbox/sys.h"

#include <omp.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

double gb_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int gb_cores(void) {
    int n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

void gb_threads_set(int n) { omp_set_num_threads(n > 0 ? n : gb_cores()); }

int gb_threads_get(void) { return omp_get_max_threads(); }

static volatile sig_atomic_t interrupt_flag;

static void on_signal(int sig) {
    interrupt_flag = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

void gb_interrupt_install(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int gb_interrupted(void) { return interrupt_flag != 0; }
