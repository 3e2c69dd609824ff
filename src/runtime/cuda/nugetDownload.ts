// Downloads the Microsoft.ML.OnnxRuntime.Gpu.Linux package from NuGet's flat container (no NuGet client needed):
// https://api.nuget.org/v3-flatcontainer/<id lowercase>/<version>/<id lowercase>.<version>.nupkg
// The file is streamed to a temporary name and renamed when complete, so an interrupted download never looks done.
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CancelledError, UserError } from '../errors';
import { NUGET_PACKAGE_ID } from './providerPackage';

export const NUGET_FLAT_CONTAINER = 'https://api.nuget.org/v3-flatcontainer';

export function nupkgFileName(version: string): string {
  return `${NUGET_PACKAGE_ID.toLowerCase()}.${version}.nupkg`;
}

export function nupkgUrl(version: string, base = NUGET_FLAT_CONTAINER): string {
  const id = NUGET_PACKAGE_ID.toLowerCase();
  return `${base.replace(/\/$/, '')}/${id}/${version}/${nupkgFileName(version)}`;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  progress?: (message: string, fraction?: number) => void;
  /** No byte for this long = give up (ms, default 30 s). */
  stallTimeoutMs?: number;
}

const NETWORK_CAUSES: Record<string, string> = {
  ENOTFOUND: 'the host name does not resolve (no DNS / offline)',
  EAI_AGAIN: 'the host name does not resolve (no DNS / offline)',
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  ENETUNREACH: 'the network is unreachable',
  EHOSTUNREACH: 'the host is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
};

function unreachable(url: string, version: string, cause: string): UserError {
  const official = nupkgUrl(version);
  return new UserError(
    'nuget-unreachable',
    `Could not download the CUDA provider package from NuGet (${url}): ${NETWORK_CAUSES[cause] ?? cause}. This machine cannot reach NuGet. ` +
      `On a machine with internet access, download ${official} (or the "Download package" link on https://www.nuget.org/packages/${NUGET_PACKAGE_ID}/${version}), ` +
      `copy the file here, and run \`em-lab setup cuda --from /path/to/${nupkgFileName(version)}\` (in VS Code: "EM Lab: Set Up CUDA" > "Use a downloaded package").`,
  );
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

/** Downloads `version` into `cacheDir` (reused when already there) and returns the file path. */
export async function downloadNupkg(version: string, cacheDir: string, base = NUGET_FLAT_CONTAINER, options: DownloadOptions = {}): Promise<string> {
  const url = nupkgUrl(version, base);
  const file = join(cacheDir, nupkgFileName(version));
  if (existsSync(file)) return file;
  mkdirSync(cacheDir, { recursive: true });
  const stall = new AbortController();
  const stallMs = options.stallTimeoutMs ?? 30_000;
  let timer = setTimeout(() => stall.abort(), stallMs);
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    clearTimeout(timer);
    if (options.signal?.aborted) throw new CancelledError('Download cancelled.');
    throw unreachable(url, version, stall.signal.aborted ? `no answer in ${stallMs / 1000} s` : causeOf(err));
  }
  if (response.status === 404) {
    clearTimeout(timer);
    throw new UserError('cuda-package-not-found', `NuGet has no ${NUGET_PACKAGE_ID} ${version} (${url} answered 404). onnxruntime-node ${version} may be newer than the NuGet release; install a matching onnxruntime-node or pass a package with --from and --skip-version-check.`);
  }
  if (!response.ok || !response.body) {
    clearTimeout(timer);
    throw unreachable(url, version, `HTTP ${response.status} ${response.statusText}`);
  }
  const total = Number(response.headers.get('content-length') ?? 0);
  let got = 0;
  const tmp = `${file}.${process.pid}.part`;
  const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    got += chunk.length;
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), stallMs);
    options.progress?.(`Downloading ${nupkgFileName(version)}: ${(got / 1e6).toFixed(0)} MB`, total ? got / total : undefined);
  });
  try {
    await pipeline(body, createWriteStream(tmp));
  } catch (err) {
    rmSync(tmp, { force: true });
    if (options.signal?.aborted) throw new CancelledError('Download cancelled.');
    throw unreachable(url, version, `download interrupted after ${(got / 1e6).toFixed(0)} MB (${causeOf(err)})`);
  } finally {
    clearTimeout(timer);
  }
  renameSync(tmp, file);
  return file;
}
