// Public API of the swat package.
export * from './errors.js';
export * from './tensor.js';
export * from './random.js';
export type * from './backend/backend.js';
