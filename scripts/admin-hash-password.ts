/**
 * Prints an ADMIN_PASSWORD_HASH value (`scrypt$N$r$p$salt$hash`) for a password.
 *
 *   npm run admin:hash-password --            # prompts (input hidden when run in a terminal)
 *   echo -n 'secret' | npm run admin:hash-password --
 *
 * The password is read from stdin, never from argv (argv is visible to other users in `ps`).
 */
import { hashPassword } from '../security/password';

async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  process.stderr.write('Administrator password: ');
  stdin.setRawMode(true);
  stdin.resume();
  let value = '';
  return new Promise((resolve, reject) => {
    stdin.on('data', (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.pause();
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    });
  });
}

async function main() {
  const password = await readPassword();
  if (password.length < 12) throw new Error('use at least 12 characters');
  process.stdout.write(`${await hashPassword(password)}\n`);
}

main().catch((err) => {
  process.stderr.write(`hash-password: ${(err as Error).message}\n`);
  process.exit(1);
});
