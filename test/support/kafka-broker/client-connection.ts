import type { Socket } from 'node:net';

/** Turns one request frame (without its size prefix) into a response frame, or null for none. */
export type FrameHandler = (frame: Buffer, connection: ClientConnection) => Promise<Buffer | null>;

/** Smallest request header: apiKey, apiVersion, correlationId and a null clientId. */
const MIN_FRAME_SIZE = 10;
/** Stop reading from a client that pipelines faster than we answer. */
const MAX_QUEUED_FRAMES = 64;

/**
 * One client socket: splits the byte stream into size-prefixed frames and handles them
 * strictly one at a time, like a Kafka broker does per connection, so responses go back
 * in request order. Anything unparseable closes the connection, never the broker.
 */
export class ClientConnection {
  private pending: Buffer = Buffer.alloc(0);
  private readonly queue: Buffer[] = [];
  private processing = false;
  private closed = false;
  private readonly closeListeners = new Set<() => void>();

  constructor(
    private readonly socket: Socket,
    private readonly handleFrame: FrameHandler,
    private readonly maxFrameSize: number,
    private readonly reportProblem: (message: string) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Registers cleanup for work parked on this connection; returns an unsubscribe function. */
  onClose(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.socket.destroy();
    for (const listener of [...this.closeListeners]) listener();
    this.closeListeners.clear();
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const size = this.pending.readInt32BE(0);
      if (size < MIN_FRAME_SIZE || size > this.maxFrameSize) {
        this.reportProblem(`closing connection: frame size ${size} is outside ${MIN_FRAME_SIZE}..${this.maxFrameSize}`);
        this.close();
        return;
      }
      if (this.pending.length < 4 + size) break;
      this.queue.push(this.pending.subarray(4, 4 + size));
      this.pending = this.pending.subarray(4 + size);
    }
    if (this.queue.length >= MAX_QUEUED_FRAMES) this.socket.pause();
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      let frame: Buffer | undefined;
      while (!this.closed && (frame = this.queue.shift()) !== undefined) {
        if (this.queue.length < MAX_QUEUED_FRAMES / 2) this.socket.resume();
        let response: Buffer | null;
        try {
          response = await this.handleFrame(frame, this);
        } catch (error) {
          this.reportProblem(`closing connection: ${(error as Error).message}`);
          this.close();
          return;
        }
        if (response !== null && !this.closed) this.socket.write(response);
      }
    } finally {
      this.processing = false;
    }
  }
}
