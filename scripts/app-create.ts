/**
 * `npm run app:create -- --name 商户A [--notify-url URL] [--return-url URL] [--sign-type HMAC-SM3] [--channels all|1,2,3]`
 *
 * Creates an APPROVED app bound to the given active channels (default: all) and prints its appId and appKey.
 * The key is shown this one time only; it is stored encrypted under the master key. Uses DATABASE_URL, or
 * the embedded PostgreSQL of a running `npm start`.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { createDb, migrateLatest } from '../db/connection';
import { createApp } from '../db/queries/apps';
import { bindChannel } from '../db/queries/app-channels';
import { listActiveChannelIds } from '../db/queries/channels';
import { isSignType } from '../signature';
import { resolveMasterKey } from '../security/master-key';
import { SecretBox } from '../security/secret-box';
import { EMBEDDED_DATABASE_URL } from './lib/postgres-service';

async function main() {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      'notify-url': { type: 'string' },
      'return-url': { type: 'string' },
      'sign-type': { type: 'string', default: 'HMAC-SHA256' },
      channels: { type: 'string', default: 'all' },
    },
  });
  if (!values.name) throw new Error('--name is required');
  if (!isSignType(values['sign-type'])) throw new Error('--sign-type must be HMAC-SHA256 or HMAC-SM3');
  const config = loadConfig();
  const db = createDb(config.databaseUrl ?? EMBEDDED_DATABASE_URL, 2);
  try {
    await migrateLatest(db);
    const box = new SecretBox(resolveMasterKey(config, config.dataDir));
    const active = await listActiveChannelIds(db);
    const wanted = values.channels === 'all' ? active : values.channels!.split(',').map(Number);
    const unknown = wanted.filter((id) => !active.includes(id));
    if (unknown.length) throw new Error(`unknown or inactive channel ids: ${unknown.join(', ')}`);
    const { appId, appKey } = await createApp(db, box, {
      name: values.name,
      status: 'APPROVED',
      notifyUrl: values['notify-url'] ?? null,
      returnUrl: values['return-url'] ?? null,
      signType: values['sign-type'],
    });
    for (const [i, id] of wanted.entries()) await bindChannel(db, appId, id, 'APPROVED', i + 1);
    console.log(`appId:    ${appId}\nappKey:   ${appKey}   (shown once: store it in your secret manager)\nsignType: ${values['sign-type']}\nchannels: ${wanted.join(', ') || '(none)'}`);
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(`app:create failed: ${(err as Error).message}`);
  process.exit(1);
});
