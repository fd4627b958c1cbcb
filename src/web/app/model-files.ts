// Getting a model directory's files onto the page: a folder chosen with the picker, a folder (or files)
// dropped on the page, or the directory `swat web --model DIR` serves. Only the files at the top of the
// folder count, by their plain names, as in a model directory.

import { ASSETS } from './assets.js';

export interface PickedModel {
  name: string;
  files: Map<string, Blob>;
}

/** The files of a folder picker (input webkitdirectory): those directly in the chosen folder. */
export function fromFolderInput(list: FileList): PickedModel | null {
  const files = new Map<string, Blob>();
  let name = 'model';
  for (const f of Array.from(list)) {
    const parts = (f.webkitRelativePath || f.name).split('/');
    if (parts.length > 2) continue; // inside a subfolder
    if (parts.length === 2) name = parts[0]!;
    files.set(parts[parts.length - 1]!, f);
  }
  return files.size > 0 ? { name, files } : null;
}

/** The files of a drop: one folder (its top-level files), or loose files. */
export async function fromDrop(data: DataTransfer): Promise<PickedModel | null> {
  const entries = Array.from(data.items).map((item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const folder = entries.find((e): e is FileSystemDirectoryEntry => e.isDirectory);
  if (folder) {
    const children = await readAll(folder.createReader());
    const files = new Map<string, Blob>();
    for (const child of children) if (child.isFile) files.set(child.name, await fileOf(child as FileSystemFileEntry));
    return { name: folder.name, files };
  }
  const files = new Map(Array.from(data.files).map((f) => [f.name, f as Blob]));
  return files.size > 0 ? { name: 'model', files } : null;
}

async function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  const out: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** The model `swat web --model DIR` serves, or null when it serves none. */
export async function fromServer(): Promise<PickedModel | null> {
  const listing = await fetch(ASSETS.servedModel);
  if (!listing.ok) throw new Error(`the server's model list: HTTP ${listing.status}`);
  const served = (await listing.json()) as { name: string; files: string[] } | null;
  if (served === null) return null;
  const { name, files: names } = served;
  const files = new Map<string, Blob>();
  for (const file of names) {
    const r = await fetch(ASSETS.servedFile(file));
    if (!r.ok) throw new Error(`${name}/${file}: HTTP ${r.status}`);
    files.set(file, await r.blob());
  }
  return { name, files };
}
