/* The allocator and abort of the WebAssembly build, defined in runtime.c. */
#ifndef SWAT_WASM_STDLIB_H
#define SWAT_WASM_STDLIB_H

#include <stddef.h>

void *malloc(size_t n);
void *aligned_alloc(size_t align, size_t n);
void free(void *p);
_Noreturn void abort(void);

#endif
