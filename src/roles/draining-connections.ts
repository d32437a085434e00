// While a process drains, every answer says `Connection: close`, so a keep-alive client learns from the
// answer itself that the connection ends, and sends its next request on a new one (to another pod or
// worker). Without it, the idle connections closed at the end of the drain can meet a request already
// on its way: the client sees a reset for a request no server ever read.
import type { Server } from 'node:http';
import net from 'node:net';

export function closeConnectionsWhileDraining(server: Server, draining: () => boolean): void {
  // Before the app's own listener, so the header is set before any answer is written (the hot path's too).
  server.prependListener('request', (_request, response) => {
    if (draining()) response.setHeader('connection', 'close');
  });
}

/**
 * Closes the listening socket only, so a cluster worker that drains gets no new connections (the
 * primary hands them to the others) while the ones it has still hear `Connection: close`. http's own
 * close() would also close the idle keep-alive connections at once, under a request perhaps on its way.
 */
export function stopAccepting(server: Server): void {
  net.Server.prototype.close.call(server);
}
