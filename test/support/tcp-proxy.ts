// A TCP proxy in front of a real server, so a test can make it unreachable (and bring it back)
// without stopping the server that other tests share.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** Called once per accepted connection; the returned function sees the client's bytes as they pass. */
  observeClient?: () => (chunk: Buffer) => void;
}

export async function startTcpProxy(target: { host: string; port: number }, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const serve = (): Server =>
    createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      const observe = options.observeClient?.();
      if (observe) client.on('data', observe);
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  const listen = (server: Server, port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  let server = serve();
  await listen(server, 0);
  const port = (server.address() as { port: number }).port;
  let open = true;
  const cut = async () => {
    if (!open) return;
    open = false;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return {
    port,
    cut,
    async restore() {
      if (open) return;
      server = serve();
      await listen(server, port);
      open = true;
    },
    close: cut,
  };
}
