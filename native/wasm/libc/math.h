/* The few <math.h> functions the shared kernels use, for the WebAssembly build (no C library there).
 * sqrt and fabsf compile to single instructions; the transcendental ones are defined in runtime.c on top
 * of the host's Math functions. */
#ifndef SWAT_WASM_MATH_H
#define SWAT_WASM_MATH_H

#define INFINITY __builtin_inff()

double sqrt(double x);
float fabsf(float x);
double exp(double x);
float expf(float x);
double log(double x);
float logf(float x);
double pow(double x, double y);
double cos(double x);
double sin(double x);

#endif
