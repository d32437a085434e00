// The image's HEALTHCHECK (`node dist/healthcheck.js`): the image has no curl, so this asks the role in
// the same container for /health/live on its PORT and exits 0 on a 200, 1 otherwise. Liveness, not
// readiness: Docker marks a container unhealthy (and Swarm or an autoheal restarts it) when this
// fails, and a PostgreSQL or Kafka outage, or a shutdown in progress, must not restart every
// container; readiness is for whoever routes traffic (Kubernetes' probes ask both themselves). One-shot
// roles serve nothing: compose turns the check off for them.
import { loadConfig } from './config.ts';

const ANSWER_WITHIN_MS = 2000;

/** Where to ask: a role listening on every address (the image's HOST=0.0.0.0) answers on loopback. */
function healthUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${local.includes(':') ? `[${local}]` : local}:${port}/health/live`;
}

async function check(): Promise<number> {
  const config = loadConfig();
  const url = healthUrl(config.host, config.port);
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
    await answer.body?.cancel();
    if (answer.status === 200) return 0;
    console.error(`${url}: ${answer.status}`);
  } catch (error) {
    console.error(`${url}: ${(error as Error).message}`);
  }
  return 1;
}

process.exitCode = await check();
