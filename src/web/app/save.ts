// Saving a model directory from the page: a .zip download (one folder of the files), or, where the browser
// has the File System Access API, straight into a folder the user picks.

import { zipSync } from 'fflate';

export type ModelFiles = Record<string, Uint8Array | string>;

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/** Downloads the files as `<folder>.zip`, holding the folder `<folder>/`. */
export function downloadZip(files: ModelFiles, folder: string): void {
  const entries = Object.fromEntries(Object.entries(files).map(([name, data]) => [`${folder}/${name}`, bytesOf(data)]));
  const zip = zipSync(entries, { level: 6 });
  const url = URL.createObjectURL(new Blob([zip as Uint8Array<ArrayBuffer>], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `${folder}.zip`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

interface DirectoryHandle {
  name: string;
  getFileHandle(name: string, options: { create: boolean }): Promise<{ createWritable(): Promise<{ write(data: Uint8Array): Promise<void>; close(): Promise<void> }> }>;
}

type PickDirectory = (options: { mode: 'readwrite' }) => Promise<DirectoryHandle>;

export function canSaveToFolder(): boolean {
  return typeof (window as unknown as { showDirectoryPicker?: PickDirectory }).showDirectoryPicker === 'function';
}

/** Writes the files into a folder the user picks; the folder's name, or null when the user cancelled. A
 *  file is replaced only once its new contents are written whole (the browser writes to a swap file and
 *  swaps it in on close). */
export async function saveToFolder(files: ModelFiles): Promise<string | null> {
  let dir: DirectoryHandle;
  try {
    dir = await (window as unknown as { showDirectoryPicker: PickDirectory }).showDirectoryPicker({ mode: 'readwrite' });
  } catch (e) {
    if ((e as DOMException).name === 'AbortError') return null;
    throw e;
  }
  for (const [name, data] of Object.entries(files)) {
    const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
    await writable.write(bytesOf(data));
    await writable.close();
  }
  return dir.name;
}
