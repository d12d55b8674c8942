// Builds dist/ after `npm ci` / `npm install` in this repository, so `npm start` and
// `npm run serve` work straight after. npm also runs a package's install scripts when
// `npx plumage` or `npm exec plumage` links this folder into its npx cache (npm_command is then
// "exec"): a command a user types must never rebuild the app under a running server, so then,
// and for any other npm command, this does nothing. The build itself swaps dist/ in whole
// (scripts/build.js), so even `npm ci` beside a running server leaves it whole.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const command = process.env.npm_command;
if (command === 'ci' || command === 'install') {
  execFileSync(process.execPath, [join(import.meta.dirname, 'build.js')], { stdio: 'inherit' });
}
