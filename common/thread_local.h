/* Thread-local storage the binaries can load without naming the dynamic loader. */
#ifndef ORDERLY_THREAD_LOCAL_H
#define ORDERLY_THREAD_LOCAL_H

/* initial-exec: the common and service libraries are built position-independent, and the
 * default model would call __tls_get_addr, making the binaries need ld-linux by name (the
 * runtime image's package list is checked against NEEDED: test_ops_compose). */
#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))

#endif
