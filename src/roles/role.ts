// A role is one kind of process the one program can be: the entry point picks it by name.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { EmbeddedDatabaseStarter } from './dependencies.ts';

export interface RoleContext {
  config: Config;
  log: Logger;
  /** Arguments after the role's name. */
  args: string[];
  /** Only `npm start`'s entry point passes it: the container never starts a database of its own. */
  startEmbedded?: EmbeddedDatabaseStarter | undefined;
}

/** Resolves with the exit code of a role that ends by itself, or 'running' for one that serves until a signal. */
export type Role = (context: RoleContext) => Promise<number | 'running'>;
