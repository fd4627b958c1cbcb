// The data module's public surface.
export { readDocuments, DOCUMENT_EXTENSIONS, type Document, type ReadOptions } from './documents.js';
export { builtinCorpusPaths, readBuiltinCorpus } from './builtin.js';
export { splitDocuments, type Split } from './split.js';
export { tokenizeDocuments } from './tokenize.js';
