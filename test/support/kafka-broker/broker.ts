import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiHandler, BrokerServices, RequestContext, RequestHeader } from './api-handler.ts';
import { ApiKey, findSupportedApi } from './api-keys.ts';
import { BrokerActivity } from './broker-activity.ts';
import { ClientConnection } from './client-connection.ts';
import { apiVersions, apiVersionsResponse, createTopics, findCoordinator, metadata } from './cluster-apis.ts';
import { GroupCoordinator } from './consumer-groups.ts';
import { ErrorCode, type ErrorCodeValue } from './error-codes.ts';
import { FaultPlan, type FailableApi } from './fault-plan.ts';
import { heartbeat, joinGroup, leaveGroup, offsetCommit, offsetFetch, syncGroup } from './group-apis.ts';
import { fetch, listOffsets, produce } from './log-apis.ts';
import { MalformedRequestError, ProtocolReader } from './protocol-reader.ts';
import type { ProtocolWriter } from './protocol-writer.ts';
import { TopicRegistry } from './topic-registry.ts';

export interface KafkaBrokerOptions {
  /** 0 (the default) picks a free port; restart() keeps whichever port was bound. */
  port?: number;
  host?: string;
  nodeId?: number;
  clusterId?: string;
  /** Create unknown topics named in a Metadata request (Kafka's auto.create.topics.enable). Default true. */
  autoCreateTopics?: boolean;
  /** Partitions of auto-created topics and of CreateTopics with numPartitions -1. Default 1. */
  defaultPartitions?: number;
  /** Bounds on a member's session timeout (Kafka: group.min/max.session.timeout.ms). */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  /** Kafka's group.initial.rebalance.delay.ms; 0 by default so tests do not wait. */
  initialRebalanceDelayMs?: number;
  /** Frames larger than this close the connection (Kafka: socket.request.max.bytes). */
  maxRequestBytes?: number;
  /** Called when a connection is closed for a protocol violation; silent by default. */
  onProtocolError?: (message: string) => void;
}

type BoundHandler = (reader: ProtocolReader, context: RequestContext) => Promise<ProtocolWriter | null>;

class UnsupportedRequestError extends Error {
  override readonly name = 'UnsupportedRequestError';
}

/** A single-node, in-memory Kafka broker for tests, spoken to over real TCP. */
export class KafkaTestBroker {
  private server: Server | null = null;
  private boundPort: number;
  private readonly host: string;
  private readonly connections = new Set<ClientConnection>();
  private readonly stopListeners = new Set<() => void>();
  private readonly handlers = new Map<number, BoundHandler>();
  private readonly topics = new TopicRegistry();
  private readonly groups: GroupCoordinator;
  private readonly faults = new FaultPlan();
  /** What the broker did (fetches, delayed responses), for tests that wait on events, not the clock. */
  readonly activity = new BrokerActivity();
  private readonly maxRequestBytes: number;
  private readonly onProtocolError: (message: string) => void;

  constructor(options: KafkaBrokerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.boundPort = options.port ?? 0;
    this.maxRequestBytes = options.maxRequestBytes ?? 100 * 1024 * 1024;
    this.onProtocolError = options.onProtocolError ?? (() => undefined);
    this.groups = new GroupCoordinator({
      minSessionTimeoutMs: options.minSessionTimeoutMs ?? 100,
      maxSessionTimeoutMs: options.maxSessionTimeoutMs ?? 300_000,
      initialRebalanceDelayMs: options.initialRebalanceDelayMs ?? 0,
    });
    const services: BrokerServices = {
      settings: {
        nodeId: options.nodeId ?? 1,
        host: this.host,
        clusterId: options.clusterId ?? 'kafka-test-broker',
        autoCreateTopics: options.autoCreateTopics ?? true,
        defaultPartitions: options.defaultPartitions ?? 1,
      },
      port: () => this.boundPort,
      topics: this.topics,
      groups: this.groups,
      faults: this.faults,
      activity: this.activity,
      onStop: (listener) => {
        this.stopListeners.add(listener);
        return () => this.stopListeners.delete(listener);
      },
    };
    this.register(ApiKey.apiVersions, apiVersions);
    this.register(ApiKey.metadata, metadata(services));
    this.register(ApiKey.createTopics, createTopics(services));
    this.register(ApiKey.findCoordinator, findCoordinator(services));
    this.register(ApiKey.produce, produce(services));
    this.register(ApiKey.fetch, fetch(services));
    this.register(ApiKey.listOffsets, listOffsets(services));
    this.register(ApiKey.joinGroup, joinGroup(services));
    this.register(ApiKey.syncGroup, syncGroup(services));
    this.register(ApiKey.heartbeat, heartbeat(services));
    this.register(ApiKey.leaveGroup, leaveGroup(services));
    this.register(ApiKey.offsetCommit, offsetCommit(services));
    this.register(ApiKey.offsetFetch, offsetFetch(services));
  }

  get port(): number {
    return this.boundPort;
  }

  /** Bootstrap list for kafkajs: `new Kafka({ brokers: broker.brokers })`. */
  get brokers(): string[] {
    return [`${this.host}:${this.boundPort}`];
  }

  get isRunning(): boolean {
    return this.server !== null;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((socket) => {
      const connection = new ClientConnection(
        socket,
        (frame, conn) => this.handleFrame(frame, conn),
        this.maxRequestBytes,
        this.onProtocolError,
      );
      this.connections.add(connection);
      connection.onClose(() => this.connections.delete(connection));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.boundPort, host: this.host }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the broker is not listening on TCP');
    this.boundPort = address.port;
    this.server = server;
    this.groups.start();
  }

  /** Stops listening and closes every connection; topics, logs and committed offsets are kept. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.dropConnections();
    for (const listener of [...this.stopListeners]) listener();
    this.groups.stop();
    await closed;
  }

  /** Stop, then listen again on the same port with the same logs and offsets. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Closes every client connection abruptly, as a network blip would; the broker stays up. */
  dropConnections(): void {
    for (const connection of [...this.connections]) connection.close();
  }

  /** Delays every response by this many milliseconds (0 turns it off). */
  delayResponses(ms: number): void {
    this.faults.responseDelayMs = ms;
  }

  /** Fails the next `count` Produce or Fetch requests, every partition with a retriable error. */
  failNext(api: FailableApi, count: number, errorCode: ErrorCodeValue = ErrorCode.notLeaderOrFollower): void {
    this.faults.failNext(api, count, errorCode);
  }

  private register<Request>(apiKey: number, handler: ApiHandler<Request>): void {
    this.handlers.set(apiKey, async (reader, context) => {
      const request = handler.decode(reader, context.header);
      if (reader.remaining !== 0) {
        throw new MalformedRequestError(`${reader.remaining} unread bytes after api key ${apiKey} request`);
      }
      return handler.handle(request, context);
    });
  }

  private async handleFrame(frame: Buffer, connection: ClientConnection): Promise<Buffer | null> {
    const reader = new ProtocolReader(frame);
    const header: RequestHeader = {
      apiKey: reader.readInt16(),
      apiVersion: reader.readInt16(),
      correlationId: reader.readInt32(),
      clientId: reader.readNullableString() ?? '',
    };
    const api = findSupportedApi(header.apiKey);
    const handler = this.handlers.get(header.apiKey);
    if (!api || !handler) throw new UnsupportedRequestError(`unsupported api key ${header.apiKey}`);

    let body: ProtocolWriter | null;
    if (header.apiVersion >= api.minVersion && header.apiVersion <= api.maxVersion) {
      body = await handler(reader, { header, connection });
    } else if (header.apiKey === ApiKey.apiVersions) {
      // KIP-511: answer a too-new ApiVersions in the v0 shape so the client can downgrade.
      body = apiVersionsResponse(ErrorCode.unsupportedVersion, false);
    } else {
      throw new UnsupportedRequestError(`${api.name} v${header.apiVersion} is not supported`);
    }
    if (body === null) return null;
    if (this.faults.responseDelayMs > 0) {
      this.activity.delayedResponses += 1;
      await sleep(this.faults.responseDelayMs);
    }

    const payload = body.toBuffer();
    const response = Buffer.allocUnsafe(8 + payload.length);
    response.writeInt32BE(4 + payload.length, 0);
    response.writeInt32BE(header.correlationId, 4);
    payload.copy(response, 8);
    return response;
  }
}
