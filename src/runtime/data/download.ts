// Downloads a file (the public training-data archive) to a temporary file beside the destination and renames it
// when complete, so an interrupted download never looks like an archive. Progress by bytes when the server
// sends Content-Length. Offline or blocked: a UserError that says where to put the file by hand.
import { createWriteStream, promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { CancelledError, UserError } from '../errors';

export interface DownloadOptions {
  url: string;
  destination: string;
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction?: number) => void;
}

function manualHint(url: string, destination: string): string {
  return `Download ${url} in a browser and save it as ${destination}, then run "EM Lab: Get Training Data" again (or \`em-lab data unprotect ${destination}\`).`;
}

export async function downloadFile(o: DownloadOptions): Promise<{ destination: string; bytes: number }> {
  const idleMs = o.idleTimeoutMs ?? 120_000;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  o.signal?.addEventListener('abort', onAbort);
  let idle = setTimeout(() => controller.abort(), idleMs);
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(), idleMs);
  };
  await fs.mkdir(dirname(o.destination), { recursive: true });
  const temp = join(dirname(o.destination), `.${basename(o.destination)}.download-${randomBytes(4).toString('hex')}`);
  try {
    let res: Response;
    try {
      res = await fetch(o.url, { signal: controller.signal, redirect: 'follow' });
    } catch (err) {
      if (o.signal?.aborted) throw new CancelledError('Download cancelled.');
      throw new UserError('download-failed', `Could not reach ${o.url} (${(err as Error).cause ?? (err as Error).message}); are you offline? ${manualHint(o.url, o.destination)}`);
    }
    if (!res.ok || !res.body) throw new UserError('download-failed', `The server answered ${res.status} ${res.statusText} for ${o.url}. Check the URL setting emLab.trainingData.archiveUrl. ${manualHint(o.url, o.destination)}`);
    const total = Number(res.headers.get('content-length')) || 0;
    const out = createWriteStream(temp);
    let bytes = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        bytes += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', r));
        o.onProgress?.(`Downloaded ${(bytes / 1048576).toFixed(1)} MiB${total ? ` of ${(total / 1048576).toFixed(1)} MiB` : ''}`, total ? bytes / total : undefined);
      }
    } catch (err) {
      if (o.signal?.aborted) throw new CancelledError('Download cancelled.');
      throw new UserError('download-failed', `The download of ${o.url} stopped after ${bytes} bytes (${(err as Error).message}). ${manualHint(o.url, o.destination)}`);
    } finally {
      await new Promise<void>((r) => out.end(r));
    }
    if (total && bytes !== total) throw new UserError('download-failed', `The download of ${o.url} ended after ${bytes} of ${total} bytes. Try again. ${manualHint(o.url, o.destination)}`);
    await fs.rename(temp, o.destination);
    return { destination: o.destination, bytes };
  } finally {
    clearTimeout(idle);
    o.signal?.removeEventListener('abort', onAbort);
    await fs.rm(temp, { force: true });
  }
}
