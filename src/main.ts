// One binary, one role per process: `api` (default), `migrate`, or `import [files...]`.
import { runApiServer } from './api/server.ts';
import { ConfigError, loadConfig } from './config.ts';
import { bundledFeedFiles, importProducts } from './catalog/product-import.ts';
import { createLogger } from './observability/logger.ts';
import { openCatalogDatabase } from './store/catalog-database.ts';

const ROLES = ['api', 'migrate', 'import'] as const;

async function main(argv: string[]): Promise<number> {
  const [role = 'api', ...args] = argv;
  if (!(ROLES as readonly string[]).includes(role)) {
    console.error(`unknown role "${role}"; expected one of: ${ROLES.join(', ')}`);
    return 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const log = createLogger(config.logLevel);

  if (role === 'api') {
    await runApiServer(config, log);
    return -1; // keeps running until a signal
  }

  const database = await openCatalogDatabase(config.database, log, { migrate: true });
  try {
    if (role === 'import') {
      const files = args.length > 0 ? args : bundledFeedFiles;
      const report = await importProducts(database.primary, files);
      for (const problem of report.skipped) console.log(`skipped ${problem.file}:${problem.line}: ${problem.reason}`);
      console.log(
        `read ${report.rows} rows from ${files.length} file(s); skipped ${report.skipped.length}; ` +
          `products: ${report.products.inserted} new, ${report.products.updated} changed, ${report.products.unchanged} unchanged ` +
          `(${report.drafts} drafts without a price); variants: ${report.variants.inserted} new, ${report.variants.updated} changed, ` +
          `${report.variants.unchanged} unchanged; ${report.categories} new categories, ${report.brands} new brands`,
      );
    }
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
