/**
 * Content-hashed static files for the server-rendered pages (cashier pages, console): loaded once at
 * start, served with immutable caching when the URL carries the current hash, revalidated otherwise.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Request, Response } from 'express';

export interface StaticAssets {
  /** The versioned URL of a file, e.g. /cashier-desk-web/static/cashier.js?v=1a2b3c4d5e6f. */
  url(name: string): string;
  /** Answers GET <mountPath>/:name; calls onMissing for unknown names. */
  serve(req: Request, res: Response, onMissing: () => void): void;
}

/**
 * @param sourceDir the module folder whose public/ holds the files (http/pages or http/console). From a dist/
 *   build the compiled module sits in dist/<folder>; without a copy there, the source folder's files are used.
 * @param files name (in the URL), content type, and optionally the absolute path of a file that lives elsewhere
 *   (e.g. a renderer shipped in node_modules).
 */
export function loadStaticAssets(sourceDir: string, mountPath: string, files: ReadonlyArray<readonly [name: string, type: string, file?: string]>): StaticAssets {
  const here = path.join(sourceDir, 'public');
  const dir = existsSync(here) ? here : here.replace(`${path.sep}dist${path.sep}`, path.sep);
  const assets = new Map(
    files.map(([name, type, file]) => {
      const body = readFileSync(file ?? path.join(dir, name));
      return [name, { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) }] as const;
    }),
  );
  return {
    url: (name) => `${mountPath}/${name}?v=${assets.get(name)!.hash}`,
    serve(req, res, onMissing) {
      const asset = assets.get(String(req.params.name));
      if (!asset) return onMissing();
      // Content-hashed URLs never change meaning: cache them for good; anything else revalidates.
      res.setHeader('Cache-Control', req.query.v === asset.hash ? 'public, max-age=31536000, immutable' : 'no-cache');
      res.setHeader('ETag', `"${asset.hash}"`);
      if (req.get('if-none-match') === `"${asset.hash}"`) return void res.status(304).end();
      res.type(asset.type).send(asset.body);
    },
  };
}
