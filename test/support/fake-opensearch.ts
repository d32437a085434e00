// A stand-in for an OpenSearch node (none can run on these machines): a node:http server that records
// each request and answers what the test says, so the real @opensearch-project/opensearch client
// (its serialisation, NDJSON bodies, status handling and timeouts) is driven end to end.
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The parsed JSON body; for NDJSON (_bulk, _msearch) one entry per line. */
  body: unknown;
  raw: string;
  contentType: string | undefined;
}

export type FakeAnswer = { status: number; body: unknown } | 'hang';
type Handler = (request: RecordedRequest) => FakeAnswer | Promise<FakeAnswer>;

export interface FakeOpenSearch {
  url: string;
  requests: RecordedRequest[];
  /** Answers the next requests; the last handler stays. */
  answer(handler: Handler): void;
  close(): Promise<void>;
}

export async function startFakeOpenSearch(): Promise<FakeOpenSearch> {
  const requests: RecordedRequest[] = [];
  let handler: Handler = () => ({ status: 200, body: {} });
  const hanging = new Set<IncomingMessage>();
  const server: Server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(incoming.url ?? '/', 'http://fake');
      const contentType = incoming.headers['content-type'];
      const request: RecordedRequest = { method: incoming.method ?? 'GET', path: url.pathname, query: url.searchParams, body: parseBody(raw), raw, contentType };
      requests.push(request);
      // A handler that throws answers 500, so the test fails on its assertion instead of hanging.
      const answer = await Promise.resolve()
        .then(() => handler(request))
        .catch((error: unknown): FakeAnswer => ({ status: 500, body: { error: { type: 'fake_handler_failed', reason: String(error) }, status: 500 } }));
      if (answer === 'hang') {
        hanging.add(incoming);
        return;
      }
      const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
      response.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      response.end(request.method === 'HEAD' ? undefined : payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer(next) {
      handler = next;
    },
    async close() {
      for (const request of hanging) request.socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function parseBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);
  }
}
