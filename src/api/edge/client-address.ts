// Who a request comes from, behind TRUST_PROXY_HOPS proxies (ingress, load balancer): the address the
// nearest untrusted hop saw. Fastify's `request.ip` and the hot path use the same rule, so a client's
// rate-limit count is one count whichever of them answers.
import type { IncomingMessage } from 'node:http';

/**
 * Fastify's trustProxy for the hops: a plain number of hops no longer moves `request.ip` in Fastify 5
 * (it refuses to trust a peer it cannot check), so the hop count is given as a function of the hop.
 * Set TRUST_PROXY_HOPS only where clients reach the pod through those proxies alone.
 */
export function trustProxyHops(hops: number): false | ((address: string, hop: number) => boolean) {
  return hops === 0 ? false : (_address, hop) => hop < hops;
}

/**
 * The address `request.ip` gives under trustProxyHops(hops): the socket's peer, then X-Forwarded-For
 * read from the right, one entry per trusted hop (proxy-addr's walk, which Fastify runs).
 */
export function clientAddress(request: IncomingMessage, hops: number): string {
  const peer = request.socket.remoteAddress ?? '';
  const forwarded = request.headers['x-forwarded-for'];
  if (hops === 0 || typeof forwarded !== 'string') return peer;
  const entries = forwarded.split(',');
  let address = peer;
  let trusted = 0;
  for (let index = entries.length - 1; index >= 0 && trusted < hops; index -= 1) {
    const entry = (entries[index] as string).trim();
    if (entry === '') continue;
    address = entry;
    trusted += 1;
  }
  return address;
}
