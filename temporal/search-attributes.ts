/**
 * Registers the custom search attributes (workflows/search-attributes.ts) on a server. An existing dev
 * server SQLite file ignores --search-attribute for its namespaces, so whatever is missing is added through
 * the operator service (works on the dev server, the Java test server and a production cluster).
 */
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';

/** Name=Type pairs as the CLI's --search-attribute flag takes them. */
export const SEARCH_ATTRIBUTE_FLAGS = SEARCH_ATTRIBUTE_KEYS.map((k) => `${k.name}=${k.type === 'INT' ? 'Int' : 'Keyword'}`);

export async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await registerSearchAttributes(connection.operatorService, namespace);
  } finally {
    await connection.close();
  }
}

export async function registerSearchAttributes(operatorService: Connection['operatorService'], namespace: string): Promise<void> {
  const T = temporal.api.enums.v1.IndexedValueType;
  let existing: Record<string, unknown> = {};
  try {
    existing = (await operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (err) {
    // The Java test server does not implement listing; adding (and ignoring "already exists") still works there.
    if ((err as { code?: number }).code !== 12 /* UNIMPLEMENTED */) throw err;
  }
  for (const key of SEARCH_ATTRIBUTE_KEYS) {
    if (existing[key.name]) continue;
    const type = key.type === 'INT' ? T.INDEXED_VALUE_TYPE_INT : T.INDEXED_VALUE_TYPE_KEYWORD;
    try {
      await operatorService.addSearchAttributes({ namespace, searchAttributes: { [key.name]: type } });
    } catch (err) {
      if ((err as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw err;
    }
  }
}
