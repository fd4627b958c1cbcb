/* memcpy and memset for the WebAssembly build: the compiler lowers them to memory.copy and memory.fill
 * (bulk memory), so they need no definition. */
#ifndef SWAT_WASM_STRING_H
#define SWAT_WASM_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memset(void *dst, int c, size_t n);

#endif
