// The data module's public surface.
export { readDocuments, readSourceFile, hashFile, type Document, type ReadOptions, type SourceFileInfo } from './documents.js';
export { DOCUMENT_EXTENSIONS, listSourceFiles, globFiles, hasGlob, isDocumentFile } from './sources.js';
export { builtinCorpusPaths, readBuiltinCorpus } from './builtin.js';
export { splitDocuments, type Split } from './split.js';
export { tokenizeDocuments } from './tokenize.js';
export { TokenFile, TokenRanges, TokenWriter, dtypeFor, type TokenDtype, type TokenWindows } from './token-file.js';
export { openTokenCache, MANIFEST_FILE, type TokenCache, type TokenCacheOptions, type Manifest } from './cache.js';
